//! A job's child processes die with it: on cancellation, on timeout, even
//! when they ignore SIGTERM or started children of their own. Real
//! processes, checked by pid.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jobstore::worker::{Backoff, JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::{JobStatus, JobStore, NewJob, SqliteStore};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

mod common;
use common::{running, start, wait_for};

/// Pids the handlers started, for the test to check.
type Pids = Arc<Mutex<Vec<u32>>>;

/// Starts `sh -c SCRIPT`; the script prints pids (its own first) and runs
/// until killed.
struct Spawner {
    pids: Pids,
    timeout: Duration,
}

#[async_trait]
impl JobType for Spawner {
    const NAME: &'static str = "spawner";
    type Params = String;
    type Output = ();

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn run(&self, script: String, ctx: &JobContext) -> Result<(), JobError> {
        let mut child = ctx.spawn(
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .stdout(std::process::Stdio::piped()),
        )?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| JobError::permanent("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if line == "ready" {
                ctx.progress("running", None).await?;
                break;
            }
            let pid = line.trim().parse::<u32>().map_err(JobError::permanent)?;
            self.pids.lock().unwrap().push(pid);
        }
        child.wait().await?;
        Ok(())
    }
}

/// Starts `sleep 600`, records its pid, then panics.
struct Panicker {
    pids: Pids,
}

#[async_trait]
impl JobType for Panicker {
    const NAME: &'static str = "panicker";
    type Params = ();
    type Output = ();

    async fn run(&self, _: (), ctx: &JobContext) -> Result<(), JobError> {
        let child = ctx.spawn(Command::new("sleep").arg("600"))?;
        self.pids.lock().unwrap().push(child.id().unwrap());
        panic!("handler bug");
    }
}

fn gone(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

struct Setup {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Arc<dyn JobStore>,
    worker: Worker,
    pids: Pids,
}

async fn setup(timeout: Duration) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let pids = Pids::default();
    let mut registry = Registry::new();
    registry
        .register(Spawner {
            pids: Arc::clone(&pids),
            timeout,
        })
        .unwrap()
        .register(Panicker {
            pids: Arc::clone(&pids),
        })
        .unwrap();
    let config = WorkerConfig {
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(50),
        heartbeat_interval: Duration::from_millis(50),
        lease_duration: Duration::from_secs(5),
        kill_grace: Duration::from_millis(300),
        backoff: Backoff::NONE,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    Setup {
        _dir: dir,
        path,
        store,
        worker,
        pids,
    }
}

/// Runs the worker, enqueues `script`, waits until it runs, cancels it
/// from a second store handle and returns once the job is cancelled.
async fn cancel_running(s: &Setup, script: &str) -> Vec<u32> {
    let (shutdown, running_worker) = start(&s.worker);
    let id = s
        .worker
        .enqueue(NewJob::new("spawner", json!(script)))
        .await
        .unwrap()
        .job
        .id;
    wait_for(&*s.store, id, |j| j.stage.as_deref() == Some("running")).await;
    let pids = s.pids.lock().unwrap().clone();
    assert!(pids.iter().all(|pid| running(*pid)), "children are running");

    let other = SqliteStore::open(&s.path).await.unwrap();
    other.cancel(id).await.unwrap();
    wait_for(&*s.store, id, |j| j.status == JobStatus::Cancelled).await;
    shutdown.cancel();
    running_worker.await.unwrap().unwrap();
    pids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_job_kills_its_sleep_600() {
    let s = setup(Duration::from_secs(600)).await;
    let pids = cancel_running(&s, "echo $$; echo ready; exec sleep 600").await;
    assert_eq!(pids.len(), 1);
    assert!(
        gone(pids[0]),
        "the child was killed and reaped by the time the job was cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_ignores_sigterm_is_killed_after_the_grace() {
    let s = setup(Duration::from_secs(600)).await;
    let script = r#"trap "" TERM; echo $$; echo ready; while :; do sleep 0.05; done"#;
    let pids = cancel_running(&s, script).await;
    assert!(gone(pids[0]), "SIGKILL followed SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grandchildren_die_with_the_job() {
    let s = setup(Duration::from_secs(600)).await;
    let script = "echo $$; sleep 600 & echo $!; echo ready; wait";
    let pids = cancel_running(&s, script).await;
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(!running(pid), "process {pid} outlived its job");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_child_and_counts_as_transient() {
    let s = setup(Duration::from_millis(500)).await;
    let id = s
        .store
        .create(NewJob::new(
            "spawner",
            json!("echo $$; echo ready; exec sleep 600"),
        ))
        .await
        .unwrap()
        .id;
    let summary = s.worker.run_once(1).await.unwrap();
    assert_eq!(summary.retrying, 1);
    let job = s.store.get(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert!(job.error.unwrap_or_default().contains("timed out"));
    let pids = s.pids.lock().unwrap().clone();
    assert_eq!(pids.len(), 1);
    assert!(gone(pids[0]), "the timed-out child was killed and reaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_does_not_leave_its_child_behind() {
    let s = setup(Duration::from_secs(600)).await;
    let id = s
        .store
        .create(NewJob::new("panicker", json!(null)))
        .await
        .unwrap()
        .id;
    let summary = s.worker.run_once(1).await.unwrap();
    assert_eq!((summary.claimed, summary.panicked), (1, 1));
    assert_eq!(summary.store_errors, 0, "a panic is not a store error");
    // The job keeps its lease until it expires and is rescued.
    assert_eq!(s.store.get(id).await.unwrap().status, JobStatus::Running);

    let pid = s.pids.lock().unwrap()[0];
    // SIGKILL was sent as the attempt unwound; wait (bounded) for delivery.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while running(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sleep {pid} outlived the panic"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
