//! `jobstore worker` and `jobstore demo`, run as a user runs them.

#![cfg(feature = "cli")]

use std::process::{Command, Stdio};
use std::time::Duration;

use jobstore::{JobStatus, JobStore, SqliteStore};

mod common;
use common::{jobstore, stdout_of as ok};

#[tokio::test]
async fn worker_once_runs_enqueued_exec_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let params = r#"{"program": "sh", "args": ["-c", "echo '::progress stage=working percent=40'; echo hello"]}"#;
    let id = ok(&jobstore(d, &["enqueue", "exec", "--params", params]));
    let other = ok(&jobstore(d, &["enqueue", "not-built-in", "--any-type"]));
    let summary: serde_json::Value =
        serde_json::from_str(&ok(&jobstore(d, &["worker", "--once", "--json"]))).unwrap();
    assert_eq!(summary["completed"], 1);
    assert_eq!(
        summary["claimed"], 1,
        "a type it cannot run is left for others"
    );

    let store = SqliteStore::open(d.join("jobstore.db")).await.unwrap();
    let job = store.get(id.trim().parse().unwrap()).await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.result.unwrap()["stdout_tail"][0], "hello");
    assert_eq!(
        (job.stage.as_deref(), job.progress),
        (Some("working"), Some(40.0))
    );
    let other = store.get(other.trim().parse().unwrap()).await.unwrap();
    assert_eq!(other.status, JobStatus::Pending);

    let output = jobstore(d, &["worker", "--types", "nope"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown job type \"nope\""));
}

#[tokio::test]
async fn worker_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&jobstore(d, &["migrate"]));
    let child = common::ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_jobstore"))
            .args(["worker", "--concurrency", "2", "--json"])
            .current_dir(d)
            .env_remove("JOBSTORE_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let params = r#"{"program": "sh", "args": ["-c", "echo done"]}"#;
    let id = ok(&jobstore(d, &["enqueue", "exec", "--params", params]));
    let store = SqliteStore::open(d.join("jobstore.db")).await.unwrap();
    let id = id.trim().parse().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.get(id).await.unwrap().status != JobStatus::Completed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never ran the job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output(Duration::from_secs(60));
    let summary: serde_json::Value = serde_json::from_str(&ok(&output)).unwrap();
    assert_eq!(summary["completed"], 1);
}

#[test]
fn demo_runs_the_whole_product_and_leaves_the_jobs_to_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(&jobstore(d, &["demo"]));
    assert!(out.contains("flaky-upload failed transiently"), "{out}");
    assert!(
        out.contains("gone (killed with its process group)"),
        "{out}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&jobstore(d, &["list", "--json"]))).unwrap();
    let jobs = listed.as_array().unwrap();
    assert_eq!(jobs.len(), 5);
    let count = |status: &str| jobs.iter().filter(|j| j["status"] == status).count();
    assert_eq!((count("completed"), count("cancelled")), (4, 1), "{listed}");
    assert!(jobs
        .iter()
        .any(|j| j["retry_count"] == 1 && j["status"] == "completed"));
    let correlation = jobs[0]["correlation_id"].as_str().unwrap();
    assert!(out.contains(&format!("jobstore list --correlation-id {correlation}")));
}
