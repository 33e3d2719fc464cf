//! The `jobstore` binary, run as a user runs it.

#![cfg(feature = "cli")]

use std::process::{Command, Output};

fn jobstore(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .args(args)
        .current_dir(dir)
        .env_remove("JOBSTORE_DATABASE_URL")
        .output()
        .expect("run jobstore")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn migrate_creates_the_default_database_then_reports_it_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let first = jobstore(dir.path(), &["migrate"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("applied 2026-11-22-000000_create_jobs"));
    assert!(
        dir.path().join("jobstore.db").is_file(),
        "default ./jobstore.db"
    );

    let second = jobstore(dir.path(), &["migrate"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("up to date"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn migrate_takes_a_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = jobstore(
        dir.path(),
        &["migrate", "--database-url", "sqlite:other.db"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("other.db").is_file());
    assert!(!dir.path().join("jobstore.db").exists());
}

#[test]
fn bad_database_urls_fail_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("postgres://localhost/jobs", "unsupported database URL"),
        ("sqlite:missing/dir/jobs.db", "does not exist"),
    ];
    for (url, expected) in cases {
        let output = jobstore(dir.path(), &["--database-url", url, "migrate"]);
        assert!(!output.status.success(), "{url} succeeded");
        let err = stderr(&output);
        assert!(err.contains(expected), "{url}: {err}");
        assert!(!err.contains("panicked"), "{url}: {err}");
    }
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(output)).expect("--json prints JSON")
}

async fn open(dir: &std::path::Path) -> jobstore::SqliteStore {
    jobstore::SqliteStore::open(dir.join("jobstore.db"))
        .await
        .unwrap()
}

#[tokio::test]
async fn enqueue_list_show_cancel_and_retry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = ok(&jobstore(
        d,
        &[
            "enqueue",
            "thumbnail",
            "--any-type",
            "--params",
            r#"{"width": 64}"#,
            "--delay",
            "10m",
            "--max-attempts",
            "5",
            "--correlation-id",
            "album-7",
        ],
    ));
    let id = id.trim().to_string();
    let first = ok(&jobstore(d, &["enqueue", "resize", "--any-type"]))
        .trim()
        .to_string();

    let listed = json(&jobstore(d, &["list", "--json"]));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], first.as_str(), "newest first");
    assert_eq!(listed[1]["job_type"], "thumbnail");
    assert_eq!(listed[1]["params"]["width"], 64);
    assert_eq!(listed[1]["max_attempts"], 5);
    assert_eq!(
        listed[1]["queue_position"],
        serde_json::Value::Null,
        "a delayed job has no place in line until due"
    );
    assert_eq!(listed[0]["queue_position"], 0);
    assert_eq!(
        (listed[1]["queue"].as_str(), listed[1]["priority"].as_u64()),
        (Some("default"), Some(5))
    );

    let only = json(&jobstore(d, &["list", "--type", "resize", "--json"]));
    assert_eq!(only.as_array().unwrap().len(), 1);
    let table = ok(&jobstore(d, &["list", "--status", "pending"]));
    assert!(
        table.contains("thumbnail") && table.contains("scheduled, in 10m"),
        "{table}"
    );

    let shown = json(&jobstore(d, &["show", &id, "--json"]));
    assert_eq!(shown["correlation_id"], "album-7");
    assert_eq!(shown["status"], "pending");
    let text = ok(&jobstore(d, &["show", &id]));
    assert!(
        text.contains("album-7") && text.contains("0 of 5"),
        "{text}"
    );

    assert!(ok(&jobstore(d, &["cancel", &id])).contains("cancelled"));
    let again = jobstore(d, &["cancel", &id]);
    assert_eq!(again.status.code(), Some(1), "a refused cancel fails");
    assert!(stderr(&again).contains("already finished"));
    let retried = ok(&jobstore(d, &["retry", &id])).trim().to_string();
    let store = open(d).await;
    use jobstore::JobStore;
    let new = store.get(retried.parse().unwrap()).await.unwrap();
    assert_eq!(new.retry_of.map(|i| i.to_string()), Some(id));
    assert_eq!(new.params["width"], 64);
}

#[tokio::test]
async fn watch_exits_zero_only_for_a_completed_job() {
    use jobstore::{ClaimRequest, Failure, JobStore, NewJob};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = open(d).await;
    let done = store
        .create(NewJob::new("a", serde_json::json!({})))
        .await
        .unwrap();
    let failed = store
        .create(NewJob::new("b", serde_json::json!({})).max_attempts(1))
        .await
        .unwrap();
    for claimed in store.claim(&ClaimRequest::new("w", 2)).await.unwrap() {
        if claimed.job.id == done.id {
            store
                .complete(&claimed.lease, serde_json::json!({ "n": 7 }))
                .await
                .unwrap();
        } else {
            store
                .fail(&claimed.lease, &Failure::permanent("disk full"))
                .await
                .unwrap();
        }
    }
    let output = jobstore(d, &["watch", &done.id.to_string()]);
    assert!(ok(&output).contains(r#"completed: {"n":7}"#));
    let output = jobstore(d, &["watch", &failed.id.to_string()]);
    assert!(!output.status.success());
    assert!(
        stdout(&output).contains("failed: disk full"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bad_input_gets_one_clear_line_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&jobstore(d, &["migrate"]));
    let unknown = "0193b6c2-4d5e-7f00-8a1b-2c3d4e5f6071";
    let cases: &[(&[&str], &str)] = &[
        (
            &["enqueue", "x", "--any-type", "--params", r#"{"a": "#],
            "line 1 column 6",
        ),
        (
            &["enqueue", "x", "--any-type", "--delay", "soon"],
            "expected e.g. 30s",
        ),
        (
            &["enqueue", "x", "--any-type", "--run-at", "tomorrow"],
            "RFC 3339",
        ),
        (
            &["enqueue", "x", "--any-type", "--max-attempts", "0"],
            "max_attempts",
        ),
        (
            &["enqueue", "nosuchtype"],
            "unknown job type \"nosuchtype\"",
        ),
        (&["enqueue", "nosuchtype"], "--any-type"),
        (
            &["enqueue", "exec", "--params", r#"{"programm": "true"}"#],
            "unknown field `programm`",
        ),
        (
            &[
                "enqueue",
                "exec",
                "--params",
                r#"{"program": "true", "args": [1]}"#,
            ],
            "at `args[0]`",
        ),
        (
            &[
                "enqueue",
                "exec",
                "--params",
                r#"{"program": "echo", "args": ["a\u0000b"]}"#,
            ],
            "args[0] holds a NUL byte",
        ),
        (
            &[
                "enqueue",
                "exec",
                "--params",
                r#"{"program": "true"}"#,
                "--priority",
                "12",
            ],
            "priority is 12",
        ),
        (
            &[
                "enqueue",
                "exec",
                "--params",
                r#"{"program": "true"}"#,
                "--queue",
                "a b",
            ],
            "queue name",
        ),
        (
            &[
                "cron",
                "add",
                "n",
                "--type",
                "nosuch",
                "--cron",
                "* * * * *",
            ],
            "unknown job type \"nosuch\"",
        ),
        (&["queue", "pause", "bad name"], "queue name"),
        (&["worker", "--queue", "default"], "NAME=N"),
        (
            &["worker", "--queue", "default=0"],
            "concurrency of 1 or more",
        ),
        (
            &["worker", "--concurrency", "8", "--queue", "video=1"],
            "cannot be used with",
        ),
        (&["show", unknown], "not found"),
        (&["show", "nope"], "not a job id"),
        (&["cancel", unknown], "not found"),
        (&["retry", unknown], "not found"),
        (&["list", "--status", "bogus"], "unknown job status"),
        (&["list", "--limit", "0"], "limit"),
        (
            &["--database-url", "sqlite:no/such/dir/j.db", "list"],
            "does not exist",
        ),
    ];
    for (args, expected) in cases {
        let output = jobstore(d, args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let err = stderr(&output);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let listed = json(&jobstore(d, &["list", "--json"]));
    assert_eq!(listed, serde_json::json!([]), "nothing was stored");
}

#[test]
fn the_environment_chooses_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jobstore"));
        command
            .args(args)
            .current_dir(d)
            .env_remove("JOBSTORE_DATABASE_URL");
        for (k, v) in vars {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    ok(&run(&[("JOB_STORE_DB_PATH", "env.db")], &["migrate"]));
    assert!(d.join("env.db").is_file());
    let output = run(&[("JOB_STORE_BACKEND", "oracle")], &["list"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("JOB_STORE_BACKEND"),
        "{}",
        stderr(&output)
    );
    // An explicit URL wins over the environment.
    ok(&run(
        &[("JOB_STORE_DB_PATH", "env.db")],
        &["--database-url", "sqlite:url.db", "migrate"],
    ));
    assert!(d.join("url.db").is_file());
}

#[cfg(feature = "libsql")]
#[test]
fn libsql_urls_and_environment_reach_the_libsql_backend() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = ["--database-url", "libsql:lib.db"];
    let migrated = ok(&jobstore(d, &[&url[..], &["migrate"]].concat()));
    assert!(
        migrated.contains("applied 2026-11-22-000000_create_jobs"),
        "{migrated}"
    );
    let id = ok(&jobstore(
        d,
        &[&url[..], &["enqueue", "ping", "--any-type"]].concat(),
    ));
    let listed = json(&jobstore(d, &[&url[..], &["list", "--json"]].concat()));
    assert_eq!(listed[0]["id"], id.trim());
    // The same file, chosen through the environment.
    let output = Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .args(["show", id.trim(), "--json"])
        .current_dir(d)
        .env_remove("JOBSTORE_DATABASE_URL")
        .env("JOB_STORE_BACKEND", "libsql")
        .env("JOB_STORE_DB_PATH", "lib.db")
        .output()
        .unwrap();
    assert_eq!(json(&output)["job_type"], "ping");
    let output = jobstore(d, &["--database-url", "http://127.0.0.1:9", "list"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot open database http://127.0.0.1:9"),
        "{}",
        stderr(&output)
    );
}

/// Runs `jobstore serve` with `args`, expecting it to refuse to start: it
/// is killed (and the test fails) if it is still running after a while.
fn serve_refused(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .arg("serve")
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir.path())
        .env_remove("JOBSTORE_DATABASE_URL")
        .env_remove("JOBSTORE_TOKEN")
        .env_remove("JOBSTORE_READ_ONLY_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run jobstore");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "serve {args:?} started instead of refusing: {}",
                stdout(&output)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serve_refuses_a_read_only_token_alone_or_equal_to_the_operator_token() {
    let alone = serve_refused(&["--read-only-token", "X"]);
    assert!(!alone.status.success());
    assert!(
        stderr(&alone).contains("a read-only token needs an operator token"),
        "{}",
        stderr(&alone)
    );
    assert!(!stdout(&alone).contains("serving"), "{}", stdout(&alone));

    let same = serve_refused(&["--token", "X", "--read-only-token", "X"]);
    assert!(!same.status.success());
    assert!(
        stderr(&same).contains("the read-only token is the same as the operator token"),
        "{}",
        stderr(&same)
    );
    assert!(!stdout(&same).contains("serving"), "{}", stdout(&same));
}

#[test]
fn list_filters_by_queue_and_finds_by_search() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let enqueue = |args: &[&str]| ok(&jobstore(d, args)).trim().to_string();
    let holiday = enqueue(&[
        "enqueue",
        "transcode",
        "--any-type",
        "--queue",
        "video",
        "--params",
        r#"{"file": "Holiday-Trip.MOV"}"#,
    ]);
    let wedding = enqueue(&[
        "enqueue",
        "thumbnail",
        "--any-type",
        "--queue",
        "video",
        "--params",
        r#"{"file": "wedding.mp4"}"#,
    ]);
    let email = enqueue(&[
        "enqueue",
        "email",
        "--any-type",
        "--params",
        r#"{"subject": "holiday-trip photos"}"#,
    ]);
    let (holiday, wedding, email) = (holiday.as_str(), wedding.as_str(), email.as_str());
    let listed = |args: &[&str]| -> Vec<String> {
        let args = [&["list"], args, &["--json"]].concat();
        json(&jobstore(d, &args))
            .as_array()
            .unwrap()
            .iter()
            .map(|job| job["id"].as_str().unwrap().to_string())
            .collect()
    };

    // By queue, newest first.
    assert_eq!(listed(&["--queue", "video"]), [wedding, holiday]);
    assert_eq!(listed(&["--queue", "default"]), [email]);
    assert_eq!(listed(&["--queue", "audio"]), Vec::<String>::new());
    let video = json(&jobstore(d, &["list", "--queue", "video", "--json"]));
    assert!(
        video
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["queue"] == "video"),
        "{video}"
    );

    // Text in params, ignoring ASCII case, in every queue or in one.
    assert_eq!(listed(&["--search", "HOLIDAY-trip"]), [email, holiday]);
    assert_eq!(
        listed(&["--queue", "video", "--search", "holiday-trip"]),
        [holiday]
    );
    assert_eq!(listed(&["--search", "wedding.MP4"]), [wedding]);
    assert_eq!(listed(&["--search", "nowhere"]), Vec::<String>::new());

    // An id's last eight characters.
    let tail = &wedding[wedding.len() - 8..];
    assert_eq!(listed(&["--search", tail]), [wedding]);
    let table = ok(&jobstore(d, &["list", "--search", tail]));
    assert!(table.contains(wedding), "{table}");
    assert!(!table.contains(holiday), "{table}");

    // Too long a search is refused in one clear line.
    let long = "x".repeat(201);
    let output = jobstore(d, &["list", "--search", &long]);
    assert!(!output.status.success(), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("search"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
