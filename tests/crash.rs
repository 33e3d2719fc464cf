//! Real worker processes: one is SIGKILLed mid-job, another rescues the
//! job once the lease expires and completes it; the dead worker's late
//! completion is refused, and SIGTERM shuts a worker down cleanly.
//!
//! The worker processes are this test binary run again with
//! `--ignored --exact worker_process`, told what to do by environment
//! variables.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::{JobStatus, JobStore, Lease, NewJob, SqliteStore};
use serde_json::json;

mod common;
use common::wait_for;

const DB: &str = "JOBSTORE_TEST_WORKER_DB";
const MODE: &str = "JOBSTORE_TEST_WORKER_MODE";

/// Blocks forever in mode "block"; completes at once in mode "finish".
struct Step;

#[async_trait]
impl JobType for Step {
    const NAME: &'static str = "step";
    type Params = ();
    type Output = String;

    async fn run(&self, _: (), ctx: &JobContext) -> Result<String, JobError> {
        ctx.progress("started", None).await?;
        if std::env::var(MODE).as_deref() == Ok("block") {
            std::future::pending::<()>().await;
        }
        Ok(format!("done by attempt {}", ctx.attempt()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the worker process the other tests start; not a test by itself"]
async fn worker_process() {
    let db = std::env::var(DB).expect("started by a crash test");
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(db).await.unwrap());
    let mut registry = Registry::new();
    registry.register(Step).unwrap();
    let config = WorkerConfig {
        worker_id: format!("process-{}", std::process::id()),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(100),
        heartbeat_interval: Duration::from_millis(200),
        lease_duration: Duration::from_secs(1),
        rescue_interval: Duration::from_millis(100),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store, registry, config).unwrap();
    worker.run_until_signal().await.unwrap();
}

fn start_worker(db: &std::path::Path, mode: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["worker_process", "--exact", "--ignored", "--nocapture"])
        .env(DB, db)
        .env(MODE, mode)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_workers_job_is_rescued_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let id = store
        .create(NewJob::new("step", json!(null)))
        .await
        .unwrap()
        .id;

    let mut first = start_worker(&db, "block");
    let running = wait_for(&store, id, |j| j.stage.as_deref() == Some("started")).await;
    assert_eq!((running.status, running.attempt), (JobStatus::Running, 1));
    let first_worker = running.locked_by.clone().unwrap();
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();

    let mut second = start_worker(&db, "finish");
    let done = wait_for(&store, id, |j| j.status.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.attempt, 2, "rescued and claimed again");
    assert_eq!(done.retry_count, 1, "the lost attempt counts");
    assert_eq!(done.result, Some(json!("done by attempt 2")));

    // The dead worker's completion, had it arrived late, is refused.
    let late = store
        .complete(
            &Lease {
                job_id: id,
                attempt: 1,
            },
            json!(format!("late from {first_worker}")),
        )
        .await
        .unwrap_err();
    assert!(late.is_lease_lost(), "{late:?}");
    assert_eq!(store.get(id).await.unwrap(), done);

    // SIGTERM: the second worker shuts down gracefully and exits cleanly.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = second.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
