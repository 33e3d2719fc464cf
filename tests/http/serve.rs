//! `jobstore serve`, run as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use reqwest::StatusCode;

use crate::common::ChildGuard;
use crate::support::DEADLINE;

fn jobstore(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobstore"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("JOBSTORE_DATABASE_URL")
        .env_remove("JOBSTORE_TOKEN");
    command
}

/// Starts `jobstore serve` and reads the address it announces.
fn start(mut command: Command) -> (ChildGuard, String, BufReader<std::process::ChildStdout>) {
    let mut child = ChildGuard::new(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .split_once("http://")
        .map(|(_, address)| format!("http://{}", address.trim_end_matches('/')))
        .unwrap_or_else(|| panic!("an address in {line:?}"));
    (child, base, stdout)
}

/// Sends SIGTERM and waits for a clean exit.
fn terminate(mut child: ChildGuard, mut stdout: BufReader<std::process::ChildStdout>) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = std::time::Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
}

#[tokio::test]
async fn serve_answers_until_sigterm_with_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let command = jobstore(dir.path(), &["serve", "--bind", "127.0.0.1:0", "--worker"]);
    let (child, base, stdout) = start(command);
    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["store_ok"], true);
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>jobstore</title>"));
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    // With a worker, the server knows the job types: one it cannot run is
    // refused, naming it; one it can is taken.
    let refused = client
        .post(format!("{base}/jobs"))
        .json(&serde_json::json!({"job_type": "later"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unknown job type \"later\""), "{body}");
    let created = client
        .post(format!("{base}/jobs"))
        .json(&serde_json::json!({"job_type": "exec", "params": {"program": "true"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    terminate(child, stdout);
    assert!(dir.path().join("jobstore.db").is_file());
}

#[tokio::test]
async fn serve_with_a_token_refuses_requests_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = jobstore(dir.path(), &["serve", "--bind", "127.0.0.1:0"]);
    command.env("JOBSTORE_TOKEN", "t0ken");
    let (child, base, stdout) = start(command);
    let client = reqwest::Client::new();
    let refused = client.get(format!("{base}/stats")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let allowed = client
        .get(format!("{base}/stats"))
        .bearer_auth("t0ken")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    terminate(child, stdout);
}

#[test]
fn serve_refuses_a_public_address_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let output = jobstore(dir.path(), &["serve", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without a token"), "{stderr}");
    assert!(stderr.contains("JOBSTORE_TOKEN"), "{stderr}");
}
