//! The worker runtime against a real SQLite file: outcomes, retries,
//! timeouts, cancellation from another store handle, graceful shutdown,
//! in-process wake-up and rescue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jobstore::worker::{
    Backoff, JobContext, JobError, JobType, Registry, Worker, WorkerConfig, WorkerError,
};
use jobstore::{
    ClaimRequest, JobId, JobStatus, JobStore, ManualClock, NewJob, SqliteConfig, SqliteStore,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

mod common;
use common::{start, wait_for};

struct Echo;

#[async_trait]
impl JobType for Echo {
    const NAME: &'static str = "echo";
    const STAGES: &'static [&'static str] = &["reading", "writing"];
    type Params = serde_json::Value;
    type Output = serde_json::Value;

    async fn run(&self, params: Self::Params, ctx: &JobContext) -> Result<Self::Output, JobError> {
        assert_eq!(ctx.stage_position("writing"), Some((2, 2)));
        ctx.progress("reading", Some(50.0)).await?;
        ctx.progress("writing", None).await?;
        Ok(params)
    }
}

/// Fails transiently on its first `failures` attempts.
struct Flaky {
    failures: u32,
}

#[async_trait]
impl JobType for Flaky {
    const NAME: &'static str = "flaky";
    type Params = ();
    type Output = u32;

    async fn run(&self, _: (), ctx: &JobContext) -> Result<u32, JobError> {
        if ctx.attempt() <= self.failures {
            // Any std error converts with `?` into a transient failure.
            let err: Result<(), std::io::Error> = Err(std::io::Error::other("connection reset"));
            err?;
        }
        Ok(ctx.attempt())
    }
}

struct Picky;

#[derive(Serialize, Deserialize)]
struct PickyParams {
    width: u32,
}

#[async_trait]
impl JobType for Picky {
    const NAME: &'static str = "picky";
    type Params = PickyParams;
    type Output = ();

    async fn run(&self, params: PickyParams, _: &JobContext) -> Result<(), JobError> {
        if params.width == 0 {
            return Err(JobError::permanent("width must be positive"));
        }
        Ok(())
    }
}

/// Runs until stopped; its timeout is short.
struct Endless;

#[async_trait]
impl JobType for Endless {
    const NAME: &'static str = "endless";
    type Params = ();
    type Output = ();

    fn timeout(&self) -> Duration {
        Duration::from_millis(300)
    }

    async fn run(&self, _: (), ctx: &JobContext) -> Result<(), JobError> {
        ctx.progress("waiting", None).await?;
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// Runs until stopped, with the default (long) timeout.
struct Patient;

#[async_trait]
impl JobType for Patient {
    const NAME: &'static str = "patient";
    type Params = ();
    type Output = ();

    async fn run(&self, _: (), ctx: &JobContext) -> Result<(), JobError> {
        ctx.progress("waiting", None).await?;
        ctx.cancelled().await;
        Err(JobError::transient("stopped"))
    }
}

/// Counts how many of its runs overlap.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

#[async_trait]
impl JobType for Gauge {
    const NAME: &'static str = "gauge";
    type Params = u64;
    type Output = u64;

    async fn run(&self, n: u64, _: &JobContext) -> Result<u64, JobError> {
        let running = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(running, Ordering::SeqCst);
        // Long enough for the others in the same claim to start meanwhile.
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(n)
    }
}

/// The name of the thread a run starts on.
fn starting_thread() -> String {
    std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string()
}

/// Says which thread it started on.
struct Quick;

#[async_trait]
impl JobType for Quick {
    const NAME: &'static str = "quick";
    type Params = ();
    type Output = String;

    async fn run(&self, _: (), _: &JobContext) -> Result<String, JobError> {
        Ok(starting_thread())
    }
}

/// Blocks its thread before it awaits anything (as a handler should not),
/// then says which thread it started on.
struct Blocking;

#[async_trait]
impl JobType for Blocking {
    const NAME: &'static str = "blocking";
    type Params = ();
    type Output = String;

    async fn run(&self, _: (), _: &JobContext) -> Result<String, JobError> {
        let thread = starting_thread();
        std::thread::sleep(Duration::from_millis(20));
        tokio::task::yield_now().await;
        Ok(thread)
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(Echo)
        .unwrap()
        .register(Flaky { failures: 1 })
        .unwrap()
        .register(Picky)
        .unwrap()
        .register(Endless)
        .unwrap()
        .register(Patient)
        .unwrap();
    registry
}

fn fast_config() -> WorkerConfig {
    WorkerConfig {
        worker_id: "test-worker".into(),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(50),
        heartbeat_interval: Duration::from_millis(50),
        lease_duration: Duration::from_secs(5),
        rescue_interval: Duration::from_millis(100),
        shutdown_grace: Duration::from_millis(200),
        backoff: Backoff::NONE,
        ..WorkerConfig::default()
    }
}

async fn open(dir: &tempfile::TempDir) -> Arc<dyn JobStore> {
    Arc::new(SqliteStore::open(dir.path().join("jobs.db")).await.unwrap())
}

async fn enqueue(store: &Arc<dyn JobStore>, job_type: &str, params: serde_json::Value) -> JobId {
    store
        .create(NewJob::new(job_type, params))
        .await
        .unwrap()
        .id
}

#[test]
fn registering_a_name_twice_is_an_error() {
    let mut registry = Registry::new();
    registry.register(Echo).unwrap();
    let err = registry.register(Echo).unwrap_err();
    assert!(matches!(err, WorkerError::DuplicateJobType(name) if name == "echo"));
    assert_eq!(registry.stage_position("echo", "reading"), Some((1, 2)));
}

struct BadQueue;

#[async_trait]
impl JobType for BadQueue {
    const NAME: &'static str = "bad_queue";
    const QUEUE: &'static str = "video jobs";
    type Params = serde_json::Value;
    type Output = ();

    async fn run(&self, _params: Self::Params, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[test]
fn registering_a_type_whose_queue_name_is_invalid_is_an_error() {
    let mut registry = Registry::new();
    let err = registry.register(BadQueue).unwrap_err().to_string();
    assert!(
        err.contains("bad_queue") && err.contains("\"video jobs\""),
        "names the type and the queue: {err}"
    );
    assert!(registry.names().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_completes_jobs_with_their_result_and_progress() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let id = enqueue(&store, "echo", json!({ "hello": "world" })).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    let summary = worker.run_once(10).await.unwrap();
    assert_eq!((summary.claimed, summary.completed), (1, 1));
    let job = store.get(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.result, Some(json!({ "hello": "world" })));
    assert_eq!(job.stage.as_deref(), Some("writing"));
    assert_eq!(job.progress, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failure_then_success() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let id = enqueue(&store, "flaky", json!(null)).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    assert_eq!(worker.run_once(1).await.unwrap().retrying, 1);
    let job = store.get(id).await.unwrap();
    assert_eq!((job.status, job.retry_count), (JobStatus::Pending, 1));
    assert_eq!(job.error.as_deref(), Some("connection reset"));
    assert_eq!(worker.run_once(1).await.unwrap().completed, 1);
    let job = store.get(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.result, Some(json!(2)), "succeeded on attempt 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_until_attempts_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let id = store
        .create(NewJob::new("flaky", json!(null)).max_attempts(1))
        .await
        .unwrap()
        .id;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    assert_eq!(worker.run_once(1).await.unwrap().failed, 1);
    let job = store.get(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.error.as_deref(), Some("connection reset"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_unknown_types_and_misfit_params_fail_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let zero = enqueue(&store, "picky", json!({ "width": 0 })).await;
    let misfit = enqueue(&store, "picky", json!({ "width": "wide" })).await;
    let unknown = enqueue(&store, "teleport", json!({})).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    assert_eq!(worker.run_once(10).await.unwrap().failed, 3);

    let expectations = [
        (zero, "width must be positive".to_string()),
        (misfit, "width".to_string()),
        (
            unknown,
            "no handler registered for job type teleport".to_string(),
        ),
    ];
    for (id, expected) in expectations {
        let job = store.get(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Failed, "{job:?}");
        assert_eq!(job.retry_count, 0, "no retry for a permanent failure");
        let error = job.error.unwrap_or_default();
        assert!(
            error.contains(&expected),
            "{error:?} should mention {expected:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_stops_the_handler_and_counts_as_transient() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let id = enqueue(&store, "endless", json!(null)).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    assert_eq!(worker.run_once(1).await.unwrap().retrying, 1);
    let job = store.get(id).await.unwrap();
    assert_eq!((job.status, job.retry_count), (JobStatus::Pending, 1));
    assert!(job.error.unwrap_or_default().contains("timed out"));
    assert_eq!(
        worker.run_once(1).await.unwrap().failed,
        1,
        "second timeout: out of attempts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_from_another_store_handle_stops_a_running_job() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    let (shutdown, running) = start(&worker);
    let id = enqueue(&store, "patient", json!(null)).await;
    wait_for(&*store, id, |j| j.stage.as_deref() == Some("waiting")).await;

    let other = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
    assert_eq!(
        other.cancel(id).await.unwrap(),
        jobstore::CancelOutcome::Requested
    );
    let job = wait_for(&*store, id, |j| j.status.is_terminal()).await;
    assert_eq!(job.status, JobStatus::Cancelled);

    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.cancelled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_returns_unfinished_jobs_without_spending_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let id = enqueue(&store, "patient", json!(null)).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    let (shutdown, running) = start(&worker);
    wait_for(&*store, id, |j| j.stage.as_deref() == Some("waiting")).await;
    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.released, 1);
    let job = store.get(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.retry_count, 0, "the attempt was not spent");
    assert_eq!(job.locked_by, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_running_worker_shuts_it_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let id = enqueue(&store, "patient", json!(null)).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    let (_shutdown, running) = start(&worker);
    drop(worker);
    wait_for(&*store, id, |j| j.stage.as_deref() == Some("waiting")).await;
    // Drop `run`'s future without cancelling its token.
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    // The loop drains as on shutdown: the job is put back at once, not left
    // running until its lease runs out...
    let job = wait_for(&*store, id, |j| j.status == JobStatus::Pending).await;
    assert_eq!((job.retry_count, job.locked_by), (0, None));
    // ...and then the loop ends, letting go of the worker and its store.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while Arc::strong_count(&store) > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loop never ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A runtime of two threads, and the count of panics from now on on the
/// loop's thread of the worker `worker_id` (`jobstore-worker-<id>`: on a
/// multi-threaded runtime the loop runs on a thread of its own).
fn runtime_counting_loop_panics(
    worker_id: &'static str,
) -> (tokio::runtime::Runtime, Arc<AtomicUsize>) {
    let panics = Arc::new(AtomicUsize::new(0));
    let thread = format!("jobstore-worker-{worker_id}");
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new({
        let panics = Arc::clone(&panics);
        move |info| {
            if std::thread::current().name() == Some(thread.as_str()) {
                panics.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    (runtime, panics)
}

/// Runs a worker with `config` over `store` on `runtime` until the runtime
/// goes away.
fn spawn_worker(
    runtime: &tokio::runtime::Runtime,
    store: &Arc<dyn JobStore>,
    registry: Registry,
    config: WorkerConfig,
) {
    let worker = Worker::new(Arc::clone(store), registry, config).unwrap();
    runtime.spawn(async move { worker.run(tokio_util::sync::CancellationToken::new()).await });
}

/// Waits for a worker's loop to end, letting go of `store`, then closes
/// the store.
fn await_loop_end(store: Arc<dyn JobStore>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while Arc::strong_count(&store) > 1 {
        assert!(std::time::Instant::now() < deadline, "the loop never ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    // A pooled connection is closed on a runtime's blocking pool.
    let closing = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    closing.block_on(async move { drop(store) });
}

#[test]
fn a_worker_stops_quietly_when_its_runtime_shuts_down() {
    let (runtime, loop_panics) = runtime_counting_loop_panics("runtime-drop");
    let dir = tempfile::tempdir().unwrap();
    let store = runtime.block_on(open(&dir));
    let id = runtime.block_on(enqueue(&store, "patient", json!(null)));
    let config = WorkerConfig {
        worker_id: "runtime-drop".into(),
        ..fast_config()
    };
    spawn_worker(&runtime, &store, registry(), config);
    runtime.block_on(wait_for(&*store, id, |j| {
        j.stage.as_deref() == Some("waiting")
    }));
    drop(runtime);
    await_loop_end(store);
    assert_eq!(loop_panics.load(Ordering::SeqCst), 0);
}

/// When its params say so, blocks the thread its first poll runs on (it
/// reports which) until told to go on, then waits on a timer.
struct Holder {
    entered: Mutex<mpsc::Sender<Option<String>>>,
    release: Mutex<mpsc::Receiver<()>>,
}

#[async_trait]
impl JobType for Holder {
    const NAME: &'static str = "holder";
    type Params = bool;
    type Output = ();

    async fn run(&self, hold: bool, _: &JobContext) -> Result<(), JobError> {
        if hold {
            let thread = std::thread::current().name().map(String::from);
            self.entered.lock().unwrap().send(thread).unwrap();
            let released = self
                .release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(30));
            released.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }
}

#[test]
fn a_runtime_shutting_down_while_the_loop_is_busy_does_not_panic_it() {
    let (runtime, loop_panics) = runtime_counting_loop_panics("busy-drop");
    let dir = tempfile::tempdir().unwrap();
    let store = runtime.block_on(open(&dir));
    let (entered, inside) = mpsc::channel();
    let (release, released) = mpsc::channel();
    let mut registry = Registry::new();
    registry
        .register(Holder {
            entered: Mutex::new(entered),
            release: Mutex::new(released),
        })
        .unwrap();
    // A limit far above any first poll of this type, so that it is
    // measured quick however loaded the machine (a debug build's no-op
    // first poll can average more than the default's 50 µs there).
    let config = WorkerConfig {
        worker_id: "busy-drop".into(),
        inline_start_limit: Duration::from_secs(1),
        ..fast_config()
    };
    spawn_worker(&runtime, &store, registry, config);
    // A type measured quick starts its jobs on the loop's thread, inside
    // the loop's poll: hold one there (a held job that started elsewhere,
    // on a machine too busy for the measurement, is let go and tried again).
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(tries <= 20, "no held job started on the loop's thread");
        let quick = runtime.block_on(enqueue(&store, "holder", json!(false)));
        runtime.block_on(wait_for(&*store, quick, |j| {
            j.status == JobStatus::Completed
        }));
        runtime.block_on(enqueue(&store, "holder", json!(true)));
        let thread = inside.recv_timeout(Duration::from_secs(30)).unwrap();
        if thread.as_deref() == Some("jobstore-worker-busy-drop") {
            break;
        }
        release.send(()).unwrap();
    }
    // The runtime shuts down while the loop is inside a poll. The pause
    // gives the shutdown time to get past dropping its tasks: whether the
    // test would catch the loop polling a timer of a shut-down runtime
    // depends on it, but the test passes however long the shutdown takes.
    let dropping = std::thread::spawn(move || drop(runtime));
    std::thread::sleep(Duration::from_millis(200));
    release.send(()).unwrap();
    dropping.join().unwrap();
    await_loop_end(store);
    assert_eq!(loop_panics.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_worker_runs_each_job_once_and_never_more_than_its_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let jobs: Vec<NewJob> = (0..150u64)
        .map(|n| NewJob::new("gauge", json!(n)))
        .collect();
    let ids: Vec<JobId> = store
        .create_many(jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    let gauge = Gauge::default();
    let mut registry = Registry::new();
    registry.register(gauge.clone()).unwrap();
    let config = WorkerConfig {
        concurrency: 3,
        ..fast_config()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let (shutdown, running) = start(&worker);
    let last = ids[ids.len() - 1];
    wait_for(&*store, last, |j| j.status == JobStatus::Completed).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.count_by_status().await.unwrap().completed < 150 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs left unfinished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!((summary.claimed, summary.completed), (150, 150));
    assert!(
        gauge.most.load(Ordering::SeqCst) <= 3,
        "{} handlers ran at once",
        gauge.most.load(Ordering::SeqCst)
    );
    for (n, id) in ids.into_iter().enumerate() {
        let job = store.get(id).await.unwrap();
        assert_eq!((job.attempt, job.result), (1, Some(json!(n))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_types_start_on_the_loops_thread_and_blocking_ones_never_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    // Taking turns, in the order enqueued (one at a time).
    let jobs: Vec<NewJob> = (0..20)
        .flat_map(|_| {
            [
                NewJob::new("blocking", json!(null)),
                NewJob::new("quick", json!(null)),
            ]
        })
        .collect();
    let ids: Vec<JobId> = store
        .create_many(jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    let mut registry = Registry::new();
    registry
        .register(Quick)
        .unwrap()
        .register(Blocking)
        .unwrap();
    let config = WorkerConfig {
        concurrency: 1,
        // Far above a quick run's first poll even unoptimised on a busy
        // machine (tens of microseconds), far below the blocking type's
        // 20 ms, which every one of its first polls takes at least.
        inline_start_limit: Duration::from_millis(5),
        ..fast_config()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let (shutdown, running) = start(&worker);
    let mut started_on = Vec::new();
    for id in &ids {
        let job = wait_for(&*store, *id, |j| j.status == JobStatus::Completed).await;
        let thread = job.result.unwrap().as_str().unwrap().to_string();
        started_on.push((job.job_type, thread));
    }
    shutdown.cancel();
    assert_eq!(running.await.unwrap().unwrap().completed, 40);
    let the_loop = "jobstore-worker-test-worker";
    // Each type's first job starts as a task, to be measured.
    assert_ne!(started_on[0].1, the_loop, "{started_on:?}");
    assert_ne!(started_on[1].1, the_loop, "{started_on:?}");
    assert!(
        started_on
            .iter()
            .any(|(job_type, thread)| job_type == "quick" && thread == the_loop),
        "no quick job started on the loop's thread: {started_on:?}"
    );
    assert!(
        started_on
            .iter()
            .all(|(job_type, thread)| job_type == "quick" || thread != the_loop),
        "a blocking job started on the loop's thread: {started_on:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_inline_start_limit_starts_every_job_as_a_task() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let jobs: Vec<NewJob> = (0..20).map(|_| NewJob::new("quick", json!(null))).collect();
    let ids: Vec<JobId> = store
        .create_many(jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    let mut registry = Registry::new();
    registry.register(Quick).unwrap();
    let config = WorkerConfig {
        concurrency: 1,
        inline_start_limit: Duration::ZERO,
        ..fast_config()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let (shutdown, running) = start(&worker);
    let mut started_on = Vec::new();
    for id in &ids {
        let job = wait_for(&*store, *id, |j| j.status == JobStatus::Completed).await;
        started_on.push(job.result.unwrap().as_str().unwrap().to_string());
    }
    shutdown.cancel();
    assert_eq!(running.await.unwrap().unwrap().completed, 20);
    assert!(
        started_on
            .iter()
            .all(|thread| thread != "jobstore-worker-test-worker"),
        "a job started on the loop's thread: {started_on:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_enqueued_in_the_same_process_wakes_an_idle_worker() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let hour = Duration::from_secs(3600);
    let config = WorkerConfig {
        poll_interval: hour,
        max_poll_interval: hour,
        rescue_interval: hour,
        ..fast_config()
    };
    let worker = Worker::new(Arc::clone(&store), registry(), config).unwrap();
    // A first job, there before the worker starts, is claimed at start;
    // once it completes the worker is idle with an hour until its next poll.
    let first = enqueue(&store, "echo", json!(1)).await;
    let (shutdown, running) = start(&worker);
    wait_for(&*store, first, |j| j.status == JobStatus::Completed).await;

    let second = worker.enqueue(NewJob::new("echo", json!(2))).await.unwrap();
    assert!(!second.existing);
    let done = wait_for(&*store, second.job.id, |j| j.status == JobStatus::Completed).await;
    assert_eq!(done.result, Some(json!(2)));
    shutdown.cancel();
    assert_eq!(running.await.unwrap().unwrap().completed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_job_is_rescued_and_its_late_completion_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(chrono::Utc::now());
    let config = SqliteConfig::new(dir.path().join("jobs.db")).clock(Arc::new(clock.clone()));
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open_with(config).await.unwrap());
    let id = enqueue(&store, "echo", json!("again")).await;
    // A worker claims the job and dies without a word.
    let dead = store
        .claim(&ClaimRequest::new("dead-worker", 1).lease_duration(Duration::from_secs(5)))
        .await
        .unwrap()
        .remove(0);
    clock.advance(chrono::Duration::seconds(6));

    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    let summary = worker.run_once(1).await.unwrap();
    assert_eq!((summary.rescued, summary.completed), (1, 1));
    let job = store.get(id).await.unwrap();
    assert_eq!((job.status, job.attempt), (JobStatus::Completed, 2));

    let late = store
        .complete(&dead.lease, json!("late"))
        .await
        .unwrap_err();
    assert!(late.is_lease_lost(), "{late:?}");
    assert_eq!(store.get(id).await.unwrap().result, Some(json!("again")));
}

#[tokio::test]
async fn health_reports_a_live_loop_and_a_reachable_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let worker = Worker::new(Arc::clone(&store), registry(), fast_config()).unwrap();
    let before = worker.health().await;
    assert!(before.store_ok);
    assert!(!before.loop_alive, "not started yet");
    let (shutdown, running) = start(&worker);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !worker.health().await.loop_alive {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

#[test]
fn bad_worker_settings_are_refused() {
    let store: Arc<dyn JobStore> = Arc::new(jobstore::MemoryStore::new());
    for config in [
        WorkerConfig {
            concurrency: 0,
            ..fast_config()
        },
        WorkerConfig {
            heartbeat_interval: Duration::from_secs(10),
            ..fast_config()
        },
    ] {
        let err = Worker::new(Arc::clone(&store), registry(), config).unwrap_err();
        assert!(matches!(err, WorkerError::Config(_)), "{err:?}");
    }
}
