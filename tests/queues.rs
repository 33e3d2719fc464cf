//! Workers and queues against a real SQLite file: each queue within its
//! own concurrency, pause honoured by running workers, a global limit and
//! unique keys across processes, jobs that can never run refused at
//! enqueue, and the program allowlist.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jobstore::exec::{Exec, ExecParams};
use jobstore::worker::{
    JobContext, JobError, JobType, ProgramAllowlist, Registry, Worker, WorkerConfig, WorkerError,
};
use jobstore::{JobStatus, JobStore, NewJob, SqliteStore, StoreError};
use serde_json::json;

mod common;
use common::{jobstore, start, stdout_of as ok, wait_for};

/// How many handlers of one type run at once, at most.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Gauge {
    async fn hold(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Bulk(Gauge);

#[async_trait]
impl JobType for Bulk {
    const NAME: &'static str = "bulk";
    const QUEUE: &'static str = "bulk";
    type Params = u64;
    type Output = u64;

    async fn run(&self, n: u64, _: &JobContext) -> Result<u64, JobError> {
        self.0.hold().await;
        Ok(n)
    }
}

struct Urgent(Gauge);

#[async_trait]
impl JobType for Urgent {
    const NAME: &'static str = "urgent";
    const QUEUE: &'static str = "urgent";
    type Params = u64;
    type Output = u64;

    async fn run(&self, n: u64, _: &JobContext) -> Result<u64, JobError> {
        self.0.hold().await;
        Ok(n)
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(50),
        ..WorkerConfig::default()
    }
}

async fn open(dir: &tempfile::TempDir) -> Arc<dyn JobStore> {
    Arc::new(SqliteStore::open(dir.path().join("jobs.db")).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_each_queue_within_its_own_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let (bulk, urgent) = (Gauge::default(), Gauge::default());
    let mut registry = Registry::new();
    registry
        .register(Bulk(bulk.clone()))
        .unwrap()
        .register(Urgent(urgent.clone()))
        .unwrap();
    let config = config().queue("bulk", 3).queue("urgent", 1);
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let client = worker.client();
    let bulk_ids = client
        .later_many::<Bulk>(&(0..40).collect::<Vec<_>>())
        .await
        .unwrap();
    let urgent_ids = client
        .later_many::<Urgent>(&(0..10).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(store.get(bulk_ids[0]).await.unwrap().queue, "bulk");
    assert_eq!(store.get(urgent_ids[0]).await.unwrap().queue, "urgent");
    let (shutdown, running) = start(&worker);
    for id in bulk_ids.iter().chain(&urgent_ids) {
        wait_for(&*store, *id, |j| j.status == JobStatus::Completed).await;
    }
    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.completed, 50);
    let most = |g: &Gauge| g.most.load(Ordering::SeqCst);
    assert!(most(&bulk) <= 3, "{} bulk jobs ran at once", most(&bulk));
    assert!(
        most(&urgent) <= 1,
        "{} urgent jobs ran at once",
        most(&urgent)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_leaves_a_paused_queue_until_it_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut registry = Registry::new();
    registry
        .register(Bulk(Gauge::default()))
        .unwrap()
        .register(Urgent(Gauge::default()))
        .unwrap();
    let config = config().queue("bulk", 2).queue("urgent", 2);
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let (shutdown, running) = start(&worker);
    store.set_queue_paused("bulk", true).await.unwrap();
    let client = worker.client();
    let held = client.later::<Bulk>(&1).await.unwrap();
    let other = client.later::<Urgent>(&2).await.unwrap();
    // The urgent job was claimed in a claim that asked the bulk queue too.
    wait_for(&*store, other, |j| j.status == JobStatus::Completed).await;
    assert_eq!(store.get(held).await.unwrap().status, JobStatus::Pending);
    assert_eq!(store.queue_position(held).await.unwrap(), Some(0));
    // A resume from another handle (another process, as far as the worker
    // knows) reaches it.
    let elsewhere = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
    elsewhere.set_queue_paused("bulk", false).await.unwrap();
    wait_for(&*store, held, |j| j.status == JobStatus::Completed).await;
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// Checks that `result` is a refusal of bad input naming `named`.
fn refused<T: std::fmt::Debug>(result: Result<T, WorkerError>, named: &str) {
    match result {
        Err(WorkerError::Store(StoreError::InvalidInput(message))) => {
            assert!(message.contains(named), "{message} should name {named}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_worker_refuses_at_enqueue_what_it_can_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut registry = Registry::new();
    registry
        .register(Bulk(Gauge::default()))
        .unwrap()
        .register(Exec)
        .unwrap();
    let config = WorkerConfig {
        exec_allow: ProgramAllowlist::only(["true"]),
        ..config()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    refused(
        worker.enqueue(NewJob::new("nosuch", json!({}))).await,
        "unknown job type \"nosuch\"",
    );
    refused(
        worker.enqueue(NewJob::new("bulk", json!("seven"))).await,
        "params do not fit job type bulk",
    );
    refused(
        worker
            .enqueue(NewJob::new(
                "exec",
                json!({"program": "true", "env": {"A": "x\u{0}"}}),
            ))
            .await,
        "env \"A\" holds a NUL byte",
    );
    refused(
        worker
            .enqueue(Exec::job(&ExecParams::new("rm")).unwrap())
            .await,
        "program \"rm\" is not allowed",
    );
    refused(
        worker
            .enqueue(NewJob::new(
                "exec",
                json!({"program": "true", "env": {"PATH": "/tmp/elsewhere"}}),
            ))
            .await,
        "env \"PATH\" may not be set",
    );
    refused(
        worker
            .enqueue_many(vec![
                NewJob::new("bulk", json!(1)),
                NewJob::new("nosuch", json!(2)),
            ])
            .await,
        "nosuch",
    );
    assert_eq!(store.count_by_status().await.unwrap().total(), 0);
    // A job that names no queue goes to its type's.
    let job = worker
        .enqueue(NewJob::new("bulk", json!(1)))
        .await
        .unwrap()
        .job;
    assert_eq!(job.queue, "bulk");
}

#[tokio::test]
async fn a_program_outside_the_allowlist_never_starts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut registry = Registry::new();
    registry.register(Exec).unwrap();
    let config = WorkerConfig {
        exec_allow: ProgramAllowlist::only(["true"]),
        ..config()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let marker = dir.path().join("touched");
    // Stored past every check (another enqueuer, or an older release).
    let touch = store
        .create(
            Exec::job(&ExecParams::new("touch").args([marker.to_str().unwrap()]))
                .unwrap()
                .max_attempts(3),
        )
        .await
        .unwrap();
    let preloaded = store
        .create(Exec::job(&ExecParams::new("true").env("LD_PRELOAD", "/tmp/evil.so")).unwrap())
        .await
        .unwrap();
    let fine = store
        .create(Exec::job(&ExecParams::new("true")).unwrap())
        .await
        .unwrap();
    worker.run_once(3).await.unwrap();
    let steered = store.get(preloaded.id).await.unwrap();
    assert_eq!(steered.status, JobStatus::Failed);
    assert!(
        steered.error.unwrap_or_default().contains("LD_PRELOAD"),
        "the error names the variable"
    );
    let refused = store.get(touch.id).await.unwrap();
    assert_eq!(
        (refused.status, refused.retry_count),
        (JobStatus::Failed, 0),
        "failed for good, at once"
    );
    assert!(
        refused.error.unwrap_or_default().contains("not allowed"),
        "the error says why"
    );
    assert!(!marker.exists(), "the program never ran");
    assert_eq!(
        store.get(fine.id).await.unwrap().status,
        JobStatus::Completed
    );
}

#[tokio::test]
async fn enqueuers_in_several_processes_make_one_job_of_a_unique_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&jobstore(d, &["migrate"]));
    let params = r#"{"program": "true"}"#;
    let enqueuers: Vec<_> = (0..6)
        .map(|_| {
            common::ChildGuard::new(
                Command::new(env!("CARGO_BIN_EXE_jobstore"))
                    .args([
                        "enqueue",
                        "exec",
                        "--params",
                        params,
                        "--unique-key",
                        "once",
                    ])
                    .current_dir(d)
                    .env_remove("JOBSTORE_DATABASE_URL")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let ids: Vec<String> = enqueuers
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output(Duration::from_secs(30));
            assert!(output.status.success(), "{output:?}");
            String::from_utf8(output.stdout).unwrap().trim().to_string()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let store = SqliteStore::open(d.join("jobstore.db")).await.unwrap();
    assert_eq!(store.count_by_status().await.unwrap().total(), 1);
}

#[tokio::test]
async fn a_queue_limit_holds_across_worker_processes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&jobstore(d, &["migrate"]));
    ok(&jobstore(d, &["queue", "limit", "default", "1"]));
    // Each job holds a lock directory while it runs; a second job running
    // at the same time fails for good (exit 3).
    let lock = d.join("lock");
    let script = format!(
        "mkdir '{l}' || exit 3; sleep 0.2; rmdir '{l}'",
        l = lock.display()
    );
    let params = json!({"program": "sh", "args": ["-c", script]}).to_string();
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(ok(&jobstore(d, &["enqueue", "exec", "--params", &params])));
    }
    let workers: Vec<_> = (0..2)
        .map(|_| {
            common::ChildGuard::new(
                Command::new(env!("CARGO_BIN_EXE_jobstore"))
                    .args(["worker", "--queue", "default=4", "--no-cron"])
                    .current_dir(d)
                    .env_remove("JOBSTORE_DATABASE_URL")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let store = SqliteStore::open(d.join("jobstore.db")).await.unwrap();
    for id in &ids {
        let job = wait_for(&store, id.trim().parse().unwrap(), |j| {
            j.status.is_terminal()
        })
        .await;
        assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    }
    let queues = store.queues().await.unwrap();
    assert_eq!(queues[0].concurrency_limit, Some(1));
    drop(workers);
}
