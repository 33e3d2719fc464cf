//! The typed client against a real SQLite file: `later` in its forms,
//! `now` persisted or not, and `batch` with bounded concurrency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::{Connection, SqliteConnection};
use jobstore::client::{BatchOptions, Client, RunOptions};
use jobstore::store::sqlite::enqueue_in;
use jobstore::worker::{
    AttemptOutcome, JobContext, JobError, JobErrorKind, JobType, Registry, Worker, WorkerConfig,
};
use jobstore::{JobStatus, JobStore, ListQuery, SqliteStore, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

mod common;
use common::{start, wait_for};

/// Squares a number, reporting two stages; fails on request.
struct Square;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SquareParams {
    n: i64,
    fail: Option<String>,
}

fn square(n: i64) -> SquareParams {
    SquareParams { n, fail: None }
}

#[async_trait]
impl JobType for Square {
    const NAME: &'static str = "square";
    const STAGES: &'static [&'static str] = &["checking", "multiplying"];
    type Params = SquareParams;
    type Output = i64;

    async fn run(&self, params: SquareParams, ctx: &JobContext) -> Result<i64, JobError> {
        ctx.progress("checking", None).await?;
        match params.fail.as_deref() {
            Some("transient") => return Err(JobError::transient("service busy")),
            Some("permanent") => return Err(JobError::permanent("bad number")),
            Some("percent") => ctx.progress("multiplying", Some(250.0)).await?,
            _ => ctx.progress("multiplying", Some(100.0)).await?,
        }
        Ok(params.n * params.n)
    }
}

/// Params that cannot be serialized to JSON (a map with non-string keys).
struct Unserializable;

#[async_trait]
impl JobType for Unserializable {
    const NAME: &'static str = "unserializable";
    type Params = std::collections::BTreeMap<(u8, u8), u8>;
    type Output = ();

    async fn run(&self, _: Self::Params, _: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

async fn sqlite() -> (tempfile::TempDir, Arc<dyn JobStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
    (dir, Arc::new(store))
}

async fn all_jobs(store: &dyn JobStore) -> Vec<jobstore::Job> {
    store.list(&ListQuery::default()).await.unwrap().jobs
}

#[tokio::test]
async fn later_enqueues_typed_jobs_now_at_a_time_after_a_delay_and_many() {
    let (_dir, store) = sqlite().await;
    let client = Client::new(Arc::clone(&store));
    let soon = client.later::<Square>(&square(2)).await.unwrap();
    let at = chrono::Utc::now() + chrono::Duration::hours(2);
    let scheduled = client.later_at::<Square>(&square(3), at).await.unwrap();
    let delayed = client
        .later_after::<Square>(&square(4), Duration::from_secs(3600))
        .await
        .unwrap();
    let many = client
        .later_many::<Square>(&[square(5), square(6)])
        .await
        .unwrap();

    let job = store.get(soon).await.unwrap();
    assert_eq!(job.job_type, "square");
    assert_eq!(job.params, serde_json::json!({ "n": 2, "fail": null }));
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(
        store
            .get(scheduled)
            .await
            .unwrap()
            .run_at
            .timestamp_millis(),
        at.timestamp_millis()
    );
    let delay = store.get(delayed).await.unwrap();
    assert!(delay.run_at - delay.created_at >= chrono::Duration::seconds(3600));
    assert_eq!(many.len(), 2);
    assert_eq!(store.get(many[1]).await.unwrap().params["n"], 6);

    // A worker runs only the one that is due now, and the two of `many`.
    let mut registry = Registry::new();
    registry.register(Square).unwrap();
    let worker = Worker::new(Arc::clone(&store), registry, WorkerConfig::default()).unwrap();
    let summary = worker.run_once(10).await.unwrap();
    assert_eq!(summary.completed, 3);
    assert_eq!(
        store.get(soon).await.unwrap().result,
        Some(serde_json::json!(4))
    );
    assert_eq!(store.get(delayed).await.unwrap().status, JobStatus::Pending);
}

#[tokio::test]
async fn later_refuses_params_that_cannot_be_serialized_and_stores_nothing() {
    let (_dir, store) = sqlite().await;
    let client = Client::new(Arc::clone(&store));
    let params = [((1, 2), 3)].into_iter().collect();
    let err = client.later::<Unserializable>(&params).await.unwrap_err();
    assert!(err.to_string().contains("cannot be serialized"), "{err}");
    let err = client
        .later_many::<Unserializable>(&[Default::default(), params])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot be serialized"), "{err}");
    assert!(all_jobs(&*store).await.is_empty());
}

#[tokio::test]
async fn typed_job_joins_the_callers_diesel_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let rolled_back = conn.transaction::<(), StoreError, _>(|conn| {
        enqueue_in(conn, Square::job(&square(7))?)?;
        Err(StoreError::InvalidInput(
            "the caller changed its mind".into(),
        ))
    });
    assert!(rolled_back.is_err());
    assert!(
        all_jobs(&store).await.is_empty(),
        "rolled back with the caller"
    );
    let committed = conn
        .transaction::<_, StoreError, _>(|conn| {
            enqueue_in(conn, Square::job(&square(8))?.max_attempts(4))
        })
        .unwrap();
    let stored = store.get(committed.id).await.unwrap();
    assert_eq!(
        (stored.job_type.as_str(), stored.max_attempts),
        ("square", 4)
    );
}

#[tokio::test]
async fn now_runs_inline_and_records_the_job() {
    let (_dir, store) = sqlite().await;
    let client = Client::new(Arc::clone(&store));
    let run = client
        .now_with(
            &Square,
            square(9),
            &RunOptions::default().correlation_id("inline-test"),
        )
        .await
        .unwrap();
    assert_eq!(run.result, Ok(81));
    assert!(run.persisted);
    assert_eq!(run.outcome, AttemptOutcome::Completed);
    let job = store.get(run.job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.result, Some(serde_json::json!(81)));
    assert_eq!(
        job.stage.as_deref(),
        Some("multiplying"),
        "progress was stored"
    );
    assert_eq!(job.progress, Some(100.0));
    assert_eq!(job.attempt, 1);
    assert_eq!(job.correlation_id.as_deref(), Some("inline-test"));
    assert!(job.lease_expires_at.is_none(), "the lease was released");
    assert!(
        job.locked_by.is_some(),
        "the runner that completed it is named"
    );
}

#[tokio::test]
async fn now_without_persisting_writes_nothing_but_checks_progress() {
    let (_dir, store) = sqlite().await;
    let client = Client::new(Arc::clone(&store));
    let options = RunOptions::default().persist(false);
    let run = client.now_with(&Square, square(3), &options).await.unwrap();
    assert_eq!(run.result, Ok(9));
    assert!(!run.persisted);
    assert_eq!(run.outcome, AttemptOutcome::Completed);
    let bad = SquareParams {
        n: 3,
        fail: Some("percent".into()),
    };
    let run = client.now_with(&Square, bad, &options).await.unwrap();
    let err = run.result.unwrap_err();
    assert_eq!(err.kind(), JobErrorKind::Permanent);
    assert!(err.message().contains("percent"), "{err}");
    assert_eq!(run.outcome, AttemptOutcome::Failed);
    assert!(all_jobs(&*store).await.is_empty());
    assert!(store.get(run.job_id).await.is_err(), "never stored");
}

#[tokio::test]
async fn now_failures_are_final_by_default_or_left_for_a_worker() {
    let (_dir, store) = sqlite().await;
    let client = Client::new(Arc::clone(&store));
    let transient = || SquareParams {
        n: 1,
        fail: Some("transient".into()),
    };
    let run = client.now(&Square, transient()).await.unwrap();
    assert_eq!(
        run.result.as_ref().unwrap_err().kind(),
        JobErrorKind::Transient
    );
    assert_eq!(run.outcome, AttemptOutcome::Failed);
    let job = store.get(run.job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.error.as_deref(), Some("service busy"));

    let retried = RunOptions::default().max_attempts(3);
    let run = client
        .now_with(&Square, transient(), &retried)
        .await
        .unwrap();
    assert_eq!(run.outcome, AttemptOutcome::Retrying);
    let job = store.get(run.job_id).await.unwrap();
    assert_eq!((job.status, job.retry_count), (JobStatus::Pending, 1));

    let permanent = SquareParams {
        n: 1,
        fail: Some("permanent".into()),
    };
    let run = client.now_with(&Square, permanent, &retried).await.unwrap();
    assert_eq!(
        run.outcome,
        AttemptOutcome::Failed,
        "permanent fails at once"
    );
}

/// Waits to be cancelled, telling the test its job id first.
struct WaitForCancel(mpsc::UnboundedSender<jobstore::JobId>);

#[async_trait]
impl JobType for WaitForCancel {
    const NAME: &'static str = "wait_for_cancel";
    type Params = ();
    type Output = ();

    async fn run(&self, _: (), ctx: &JobContext) -> Result<(), JobError> {
        self.0.send(ctx.job().id).map_err(JobError::permanent)?;
        ctx.cancelled().await;
        Err(JobError::transient("stopped"))
    }
}

#[tokio::test]
async fn now_is_cancelled_from_another_store_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let other = SqliteStore::open(&path).await.unwrap();
    let config = WorkerConfig {
        heartbeat_interval: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let client = Client::with_config(store, config).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let canceller = tokio::spawn(async move {
        let id = rx.recv().await.unwrap();
        other.cancel(id).await.unwrap();
    });
    let run = client.now(&WaitForCancel(tx), ()).await.unwrap();
    canceller.await.unwrap();
    assert_eq!(run.outcome, AttemptOutcome::Cancelled);
    assert!(run.result.is_err());
    let job = client.store().get(run.job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Cancelled);
}

/// Counts how many runs overlap.
struct Overlap {
    running: AtomicUsize,
    most: AtomicUsize,
}

#[async_trait]
impl JobType for Overlap {
    const NAME: &'static str = "overlap";
    type Params = u32;
    type Output = u32;

    async fn run(&self, n: u32, _: &JobContext) -> Result<u32, JobError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        if n == 3 {
            return Err(JobError::permanent("three is refused"));
        }
        Ok(n)
    }
}

#[tokio::test]
async fn batch_runs_everything_with_bounded_concurrency() {
    let (_dir, store) = sqlite().await;
    let client = Client::new(Arc::clone(&store));
    for (concurrency, options) in [
        (
            3,
            BatchOptions::default().run(RunOptions::default().persist(false)),
        ),
        (
            5,
            BatchOptions::default()
                .concurrency(5)
                .run(RunOptions::default().persist(false)),
        ),
    ] {
        let job = Overlap {
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        };
        let batch = client
            .batch(&job, (0..12).collect(), &options)
            .await
            .unwrap();
        assert_eq!(
            job.most.load(Ordering::SeqCst),
            concurrency,
            "never more, and really at once"
        );
        assert_eq!(batch.runs.len(), 12);
        assert_eq!(batch.not_started, 0);
        assert!(!batch.all_succeeded(), "job 3 failed");
        let results: Vec<_> = batch
            .runs
            .iter()
            .map(|r| r.as_ref().unwrap().result.clone())
            .collect();
        assert_eq!(results[2], Ok(2), "in the order given");
        assert!(results[3].is_err());
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            11,
            "a failure does not stop the rest"
        );
    }
}

#[tokio::test]
async fn batch_can_stop_at_the_first_error() {
    let (_dir, store) = sqlite().await;
    let client = Client::new(Arc::clone(&store));
    let job = Overlap {
        running: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
    };
    let options = BatchOptions::default().concurrency(1).stop_on_error(true);
    let batch = client
        .batch(&job, (0..10).collect(), &options)
        .await
        .unwrap();
    assert_eq!(batch.runs.len(), 4, "0, 1, 2 and the failing 3");
    assert_eq!(batch.not_started, 6);
    let stored = all_jobs(&*store).await;
    assert_eq!(stored.len(), 4, "jobs not started were never created");
    assert_eq!(
        stored
            .iter()
            .filter(|j| j.status == JobStatus::Completed)
            .count(),
        3
    );
    assert_eq!(
        stored
            .iter()
            .filter(|j| j.status == JobStatus::Failed)
            .count(),
        1
    );

    let err = client
        .batch(&job, vec![1], &BatchOptions::default().concurrency(0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("concurrency"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_client_wakes_it() {
    let (_dir, store) = sqlite().await;
    let mut registry = Registry::new();
    registry.register(Square).unwrap();
    let hour = Duration::from_secs(3600);
    let config = WorkerConfig {
        // Without the wake-up this worker would not look again for an hour.
        poll_interval: hour,
        max_poll_interval: hour,
        rescue_interval: hour,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    // A first job is claimed at start; once it completes the worker is idle.
    let first = Client::new(Arc::clone(&store))
        .later::<Square>(&square(1))
        .await
        .unwrap();
    let (shutdown, handle) = start(&worker);
    wait_for(&*store, first, |j| j.status == JobStatus::Completed).await;
    let id = worker.client().later::<Square>(&square(12)).await.unwrap();
    let job = wait_for(&*store, id, |j| j.status == JobStatus::Completed).await;
    assert_eq!(job.result, Some(serde_json::json!(144)));
    shutdown.cancel();
    handle.await.unwrap().unwrap();
}
