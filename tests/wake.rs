//! Waking across processes on a local database: each waiter of this
//! process (an idle worker, a worker's cancel check, cron firing, a job's
//! event stream) sees what another process (the `jobstore` binary) wrote,
//! though every poll of its own is an hour away, so only the store's change
//! feed can have told it; `jobstore watch` in another process sees what
//! this one writes; and with the file's watch turned off, the feed's own
//! poll still tells.

#![cfg(feature = "cli")]

use std::sync::Arc;
use std::time::Duration;

use jobstore::exec::Exec;
use jobstore::http::{HttpConfig, HttpState};
use jobstore::worker::{Registry, Worker, WorkerConfig};
use jobstore::{JobId, JobStatus, JobStore, SqliteConfig, SqliteStore};

mod common;
use common::{jobstore, stdout_of as ok};

/// Settings under which nothing but a notification wakes the worker within
/// a test: polls and heartbeats an hour apart.
fn deaf() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_secs(3600),
        max_poll_interval: Duration::from_secs(3600),
        lease_duration: Duration::from_secs(7200),
        heartbeat_interval: Duration::from_secs(3600),
        rescue_interval: Duration::from_secs(3600),
        cron_interval: None,
        kill_grace: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

fn exec_worker(store: Arc<dyn JobStore>, config: WorkerConfig) -> Worker {
    let mut registry = Registry::new();
    registry.register(Exec).unwrap();
    Worker::new(store, registry, config).unwrap()
}

async fn open(dir: &std::path::Path, watch: bool) -> Arc<dyn JobStore> {
    let config = SqliteConfig::new(dir.join("jobstore.db")).watch_changes(watch);
    Arc::new(SqliteStore::open_with(config).await.unwrap())
}

fn enqueue(dir: &std::path::Path, script: &str) -> JobId {
    let params = serde_json::json!({ "program": "sh", "args": ["-c", script] }).to_string();
    ok(&jobstore(dir, &["enqueue", "exec", "--params", &params]))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_enqueued_by_another_process_wakes_an_idle_worker() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), true).await;
    let worker = exec_worker(Arc::clone(&store), deaf());
    let (shutdown, run) = common::start(&worker);
    // Idle: its first poll found nothing, its next is an hour away.
    for _ in 0..2 {
        let id = enqueue(dir.path(), "echo ran");
        let job = common::wait_for(&*store, id, |j| j.status.is_terminal()).await;
        assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    }
    shutdown.cancel();
    let summary = run.await.unwrap().unwrap();
    assert_eq!(summary.completed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_notification_is_caught_by_the_feeds_own_poll() {
    let dir = tempfile::tempdir().unwrap();
    // The file is not watched: only the feed's poll of the version is left.
    let store = open(dir.path(), false).await;
    let worker = exec_worker(Arc::clone(&store), deaf());
    let (shutdown, run) = common::start(&worker);
    let id = enqueue(dir.path(), "echo ran");
    let job = common::wait_for(&*store, id, |j| j.status.is_terminal()).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    shutdown.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_another_process_stops_the_running_jobs_child() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), true).await;
    let worker = exec_worker(Arc::clone(&store), deaf());
    let (shutdown, run) = common::start(&worker);
    let pid_file = dir.path().join("child.pid");
    let script = format!("echo $$ > {}; exec sleep 600", pid_file.display());
    let id = enqueue(dir.path(), &script);
    common::wait_for(&*store, id, |j| j.status == JobStatus::Running).await;
    let pid: u32 = common::poll(Duration::from_secs(20), "the child's pid", || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    });
    assert!(common::running(pid));
    let said = ok(&jobstore(dir.path(), &["cancel", &id.to_string()]));
    assert!(said.contains("requested"), "{said}");
    // The heartbeat is an hour away: the change feed told the worker.
    let job = common::wait_for(&*store, id, |j| j.status.is_terminal()).await;
    assert_eq!(job.status, JobStatus::Cancelled, "{job:?}");
    assert!(!common::running(pid), "the child is dead once the job is");
    shutdown.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_declared_by_another_process_fires_without_a_poll() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), true).await;
    let config = WorkerConfig {
        cron_interval: Some(Duration::from_millis(100)),
        ..deaf()
    };
    let worker = exec_worker(Arc::clone(&store), config);
    let (shutdown, run) = common::start(&worker);
    let params = r#"{"program": "true"}"#;
    ok(&jobstore(
        dir.path(),
        &[
            "cron",
            "add",
            "every-second",
            "--type",
            "exec",
            "--cron",
            "* * * * * *",
            "--params",
            params,
        ],
    ));
    let runs = jobstore::ListQuery::default().correlation_id("cron:every-second");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.list(&runs).await.unwrap().jobs.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no tick fired within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_shows_what_another_process_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), true).await;
    let state = HttpState::new(Arc::clone(&store))
        .config(HttpConfig::default().events_interval(Duration::from_secs(3600)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, jobstore::http::router(state))
            .await
            .unwrap()
    });
    let id = enqueue(
        dir.path(),
        "echo '::progress stage=halfway percent=50'; sleep 1; echo done",
    );
    let mut events = reqwest::Client::new()
        .get(format!("http://{addr}/jobs/{id}/events"))
        .send()
        .await
        .unwrap();
    // Another process runs the job: its progress and its end reach the
    // stream, whose own poll is an hour away.
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .args(["worker", "--once"])
        .current_dir(dir.path())
        .env_remove("JOBSTORE_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(chunk) = events.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    let _ = worker.kill();
    worker.wait().unwrap();
    server.abort();
    assert!(read.is_ok(), "the stream did not end: {seen}");
    assert!(seen.contains(r#""stage":"halfway""#), "{seen}");
    assert!(seen.contains(r#""status":"completed""#), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_in_another_process_sees_the_job_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), true).await;
    let id = enqueue(dir.path(), "echo ran");
    let watch = std::process::Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .args(["watch", &id.to_string(), "--interval", "1h"])
        .current_dir(dir.path())
        .env_remove("JOBSTORE_DATABASE_URL")
        .env("RUST_LOG", "jobstore=debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let guard = common::ChildGuard::new(watch);
    let worker = exec_worker(Arc::clone(&store), deaf());
    let (shutdown, run) = common::start(&worker);
    common::wait_for(&*store, id, |j| j.status.is_terminal()).await;
    let output = guard.wait_with_output(Duration::from_secs(30));
    assert!(output.status.success(), "{output:?}");
    shutdown.cancel();
    run.await.unwrap().unwrap();
}
