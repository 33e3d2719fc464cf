//! Many processes on one database: contention with exactly-once effects,
//! and a chaos run that SIGKILLs and freezes workers while jobs are in
//! flight, and kills an enqueuer mid-batch.
//!
//! Worker and enqueuer processes are this test binary run again with
//! `--ignored --exact NAME`, told what to do by environment variables.
//! `JOBSTORE_RELIABILITY_JOBS` sets the number of jobs of the contention
//! run (default 4,000; RELIABILITY.md records runs of 50,000).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jobstore::store::StoreConfig;
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::{JobId, JobStatus, JobStore, ListQuery, NewJob};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

mod common;
use common::ChildGuard;

const DATABASE: &str = "JOBSTORE_RELIABILITY_DATABASE";
const LEDGER: &str = "JOBSTORE_RELIABILITY_LEDGER";
const COUNT: &str = "JOBSTORE_RELIABILITY_COUNT";
const FIRST_BATCH: &str = "JOBSTORE_RELIABILITY_FIRST_BATCH";
const JOB_MILLIS: &str = "JOBSTORE_RELIABILITY_JOB_MILLIS";
const LEASE_MILLIS: &str = "JOBSTORE_RELIABILITY_LEASE_MILLIS";
const MAX_ATTEMPTS: &str = "JOBSTORE_RELIABILITY_MAX_ATTEMPTS";

/// Appends "JOB_ID ATTEMPT" to the ledger file once its work is done: one
/// `write` of a short line to a file opened for appending, so lines from
/// many processes never interleave.
struct Ledger;

#[derive(Serialize, Deserialize)]
struct LedgerParams {
    millis: u64,
}

#[async_trait]
impl JobType for Ledger {
    const NAME: &'static str = "ledger";
    type Params = LedgerParams;
    type Output = u32;

    async fn run(&self, params: LedgerParams, ctx: &JobContext) -> Result<u32, JobError> {
        if params.millis > 0 {
            tokio::time::sleep(Duration::from_millis(params.millis)).await;
        }
        let path = std::env::var(LEDGER).map_err(|e| JobError::permanent(e.to_string()))?;
        let line = format!("{} {}\n", ctx.job().id, ctx.attempt());
        let mut ledger = OpenOptions::new().append(true).create(true).open(path)?;
        ledger.write_all(line.as_bytes())?;
        Ok(ctx.attempt())
    }
}

fn store_config() -> StoreConfig {
    std::env::var(DATABASE)
        .expect("started by a reliability test")
        .parse()
        .expect("a database URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process the reliability tests start; not a test by itself"]
async fn worker_process() {
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .init();
    let store = store_config().open().await.unwrap();
    let mut registry = Registry::new();
    registry.register(Ledger).unwrap();
    let config = WorkerConfig {
        worker_id: format!("process-{}", std::process::id()),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(100),
        heartbeat_interval: Duration::from_millis(200),
        lease_duration: Duration::from_millis(
            std::env::var(LEASE_MILLIS).unwrap().parse().unwrap(),
        ),
        rescue_interval: Duration::from_millis(200),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store, registry, config).unwrap();
    let summary = worker.run_until_signal().await.unwrap();
    println!("{}", serde_json::to_string(&summary).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "an enqueuing process the reliability tests start; not a test by itself"]
async fn enqueuer_process() {
    let store = store_config().open().await.unwrap();
    let count: usize = std::env::var(COUNT).unwrap().parse().unwrap();
    let first_batch: usize = std::env::var(FIRST_BATCH).unwrap().parse().unwrap();
    let millis: u64 = std::env::var(JOB_MILLIS).unwrap().parse().unwrap();
    let attempts: u32 = std::env::var(MAX_ATTEMPTS).unwrap().parse().unwrap();
    let job = |batch: usize| {
        NewJob::with_params("ledger", &LedgerParams { millis })
            .unwrap()
            .max_attempts(attempts)
            .correlation_id(format!("batch-{batch}"))
    };
    // Batches of 100, every fifth one enqueued job by job instead.
    for (n, start) in (0..count).step_by(100).enumerate() {
        let batch = first_batch + n;
        let size = 100.min(count - start);
        if n % 5 == 4 {
            for _ in 0..size {
                store.create(job(batch)).await.unwrap();
            }
        } else {
            store
                .create_many((0..size).map(|_| job(batch)).collect())
                .await
                .unwrap();
        }
    }
}

/// Runs this test binary's ignored test `name` as a process.
fn spawn(name: &str, dir: &Path, env: &[(&str, String)], log: &str) -> ChildGuard {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(Stdio::piped())
        .stderr(File::create(dir.join(log)).unwrap());
    for (key, value) in env {
        command.env(key, value);
    }
    ChildGuard::new(command.spawn().unwrap())
}

struct Run {
    dir: tempfile::TempDir,
    database: String,
    lease: Duration,
}

impl Run {
    /// A run on a fresh database of `scheme`, whose workers hold leases
    /// of `lease`.
    fn new(scheme: &str, lease: Duration) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("{scheme}:{}", dir.path().join("jobs.db").display());
        Run {
            dir,
            database,
            lease,
        }
    }

    fn ledger(&self) -> PathBuf {
        self.dir.path().join("ledger.txt")
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (DATABASE, self.database.clone()),
            (LEDGER, self.ledger().display().to_string()),
            (LEASE_MILLIS, self.lease.as_millis().to_string()),
        ]
    }

    fn worker(&self, n: usize) -> ChildGuard {
        spawn(
            "worker_process",
            self.dir.path(),
            &self.env(),
            &format!("worker-{n}.log"),
        )
    }

    /// An enqueuer of `count` jobs of `millis` each, with `batch-N`
    /// correlation ids from `first_batch` on. Each job gets attempts enough
    /// for every interruption a run can make.
    fn enqueuer(&self, count: usize, first_batch: usize, millis: u64) -> ChildGuard {
        let mut env = self.env();
        env.push((MAX_ATTEMPTS, "30".to_string()));
        env.push((COUNT, count.to_string()));
        env.push((FIRST_BATCH, first_batch.to_string()));
        env.push((JOB_MILLIS, millis.to_string()));
        spawn(
            "enqueuer_process",
            self.dir.path(),
            &env,
            &format!("enqueuer-{first_batch}.log"),
        )
    }

    async fn store(&self) -> Arc<dyn JobStore> {
        let config: StoreConfig = self.database.parse().unwrap();
        config.open().await.unwrap()
    }

    /// Every (job id, attempt) line of the ledger.
    fn ledger_lines(&self) -> Vec<(JobId, u32)> {
        let text = std::fs::read_to_string(self.ledger()).unwrap_or_default();
        text.lines()
            .map(|line| {
                let (id, attempt) = line.split_once(' ').expect("an id and an attempt");
                (id.parse().unwrap(), attempt.parse().unwrap())
            })
            .collect()
    }

    /// What the workers logged at warn level or above.
    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "log") {
                all.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
        all
    }
}

/// Waits (up to `limit`) until no job is pending or running.
async fn wait_until_all_finished(store: &dyn JobStore, expected: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let counts = store.count_by_status().await.unwrap();
        if counts.total() == expected && counts.pending == 0 && counts.running == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs left unfinished: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until process `pid` catches SIGTERM (a worker started moments ago
/// may not listen yet, and SIGTERM would then kill it outright).
fn wait_until_catching_sigterm(pid: u32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let caught = status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        if caught & (1 << (Signal::SIGTERM as i32 - 1)) != 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "worker {pid} never listened for SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stop(child: ChildGuard) -> serde_json::Value {
    wait_until_catching_sigterm(child.id());
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let output = child.wait_with_output(Duration::from_secs(600));
    assert!(
        output.status.success(),
        "a worker failed: {:?}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout
        .lines()
        .find_map(|line| line.find('{').map(|at| &line[at..]))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    serde_json::from_str(summary).unwrap()
}

fn jobs_wanted() -> usize {
    std::env::var("JOBSTORE_RELIABILITY_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4000)
}

/// 4 worker processes and 2 enqueuing processes on one database: every
/// job completes, its effect is recorded exactly once, and no busy or
/// locked error reaches a caller or the log.
async fn contention(scheme: &str) {
    // The default lease: under this much contention a write can wait on
    // the lock for a while, and a lease that expires mid-job is a rescue
    // and a second run (at-least-once), which this test is not about.
    let run = Run::new(scheme, Duration::from_secs(30));
    let jobs = jobs_wanted();
    drop(run.store().await); // migrate once, before the processes race
    let workers: Vec<ChildGuard> = (0..4).map(|n| run.worker(n)).collect();
    let half = jobs / 2;
    let enqueuers = [
        run.enqueuer(half, 0, 0),
        run.enqueuer(jobs - half, 1_000_000, 0),
    ];
    for enqueuer in enqueuers {
        let output = enqueuer.wait_with_output(Duration::from_secs(600));
        assert!(
            output.status.success(),
            "an enqueuer failed: {}",
            run.logs()
        );
    }
    let store = run.store().await;
    wait_until_all_finished(&*store, jobs as u64, Duration::from_secs(600)).await;
    let summaries: Vec<_> = workers.into_iter().map(stop).collect();

    let counts = store.count_by_status().await.unwrap();
    assert_eq!(counts.completed, jobs as u64, "{counts:?}");
    let mut seen: BTreeMap<JobId, u32> = BTreeMap::new();
    for (id, _) in run.ledger_lines() {
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), jobs, "every job left its effect");
    assert!(seen.values().all(|n| *n == 1), "an effect recorded twice");
    let completed: u64 = summaries
        .iter()
        .map(|s| s["completed"].as_u64().unwrap())
        .sum();
    assert_eq!(completed, jobs as u64, "{summaries:?}");
    let logs = run.logs();
    for forbidden in ["ERROR", "database is locked", "SQLITE_BUSY"] {
        assert!(
            !logs.contains(forbidden),
            "{forbidden} in the logs:\n{logs}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contention_on_sqlite_completes_every_job_exactly_once() {
    contention("sqlite").await;
}

#[cfg(feature = "libsql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contention_on_a_local_libsql_file_completes_every_job_exactly_once() {
    contention("libsql").await;
}

/// Workers are SIGKILLed at random moments and restarted while jobs are in
/// flight, and another is frozen (SIGSTOP) past its lease and thawed: no
/// job is lost or stuck, each completes once, rescued jobs finish on a
/// later attempt, and the frozen worker's late writes are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_kills_and_freezes_lose_and_duplicate_nothing() {
    let run = Run::new("sqlite", Duration::from_secs(1));
    let jobs = 2000;
    let store = run.store().await;
    let output = run
        .enqueuer(jobs, 0, 60)
        .wait_with_output(Duration::from_secs(600));
    assert!(output.status.success());
    let mut workers: Vec<ChildGuard> = (0..4).map(|n| run.worker(n)).collect();
    let frozen = run.worker(4);
    let frozen_id = format!("process-{}", frozen.id());
    let mut next_log = 5;
    let (mut kills, mut freezes) = (0, 0);
    while kills < 20 {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(100..300))).await;
        if kills % 3 == 2 && freeze_holding_jobs(&*store, &frozen, &frozen_id).await {
            freezes += 1;
        }
        let victim = fastrand::usize(..workers.len());
        let mut dead = workers.swap_remove(victim);
        dead.kill().unwrap(); // SIGKILL
        dead.wait().unwrap();
        kills += 1;
        workers.push(run.worker(next_log));
        next_log += 1;
    }
    wait_until_all_finished(&*store, jobs as u64, Duration::from_secs(300)).await;
    for worker in workers {
        stop(worker);
    }
    let late = stop(frozen)["lease_lost"].as_u64().unwrap();
    assert!(freezes > 0, "the frozen worker never held a job");
    assert!(
        late >= freezes,
        "each thaw met refused writes: {late} for {freezes} freezes"
    );

    let counts = store.count_by_status().await.unwrap();
    assert_eq!(
        counts.completed, jobs as u64,
        "no job lost or failed: {counts:?}"
    );
    let mut finished_by: BTreeMap<JobId, Vec<u32>> = BTreeMap::new();
    for (id, attempt) in run.ledger_lines() {
        finished_by.entry(id).or_default().push(attempt);
    }
    assert_eq!(finished_by.len(), jobs, "every job ran to its end");
    let mut rescued = 0;
    for job in all_jobs(&*store).await {
        assert_eq!(job.status, JobStatus::Completed);
        // The stored result is the attempt that won; other runs of the job
        // were earlier attempts, cut short or refused.
        let winner: u32 = serde_json::from_value(job.result.clone().unwrap()).unwrap();
        assert_eq!(winner, job.attempt, "{job:?}");
        let runs = &finished_by[&job.id];
        assert!(runs.contains(&winner), "{job:?}: {runs:?}");
        assert!(runs.iter().all(|a| *a <= winner), "{job:?}: {runs:?}");
        if job.attempt > 1 {
            rescued += 1;
        }
    }
    assert!(rescued > 0, "the kills interrupted jobs in flight");
    println!(
        "chaos: {kills} kills, {freezes} freezes, {rescued} jobs rescued, {late} late writes refused"
    );
}

/// Freezes `worker` while it holds running jobs until every one of them
/// was rescued from it, then thaws it. False when it held none, or when no
/// rescue came within 10 s: frozen inside a write transaction, it holds
/// SQLite's one write lock, and no other process can write until it runs
/// again.
async fn freeze_holding_jobs(store: &dyn JobStore, worker: &ChildGuard, id: &str) -> bool {
    let pid = Pid::from_raw(worker.id() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    let held = |jobs: Vec<jobstore::Job>| {
        jobs.into_iter()
            .filter(|job| job.locked_by.as_deref() == Some(id))
            .count()
    };
    let running = ListQuery::default().status(JobStatus::Running).limit(1000);
    let mut rescued = held(store.list(&running).await.unwrap().jobs) > 0;
    if rescued {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while held(store.list(&running).await.unwrap().jobs) > 0 {
            if tokio::time::Instant::now() >= deadline {
                println!("frozen while holding the write lock: nobody could rescue");
                rescued = false;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    kill(pid, Signal::SIGCONT).unwrap();
    rescued
}

/// Every job in the store.
async fn all_jobs(store: &dyn JobStore) -> Vec<jobstore::Job> {
    let mut jobs = Vec::new();
    let mut cursor = None;
    loop {
        let mut query = ListQuery::default().limit(1000);
        if let Some(after) = cursor {
            query = query.after(after);
        }
        let page = store.list(&query).await.unwrap();
        jobs.extend(page.jobs);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return jobs,
        }
    }
}

/// An enqueuer SIGKILLed while it writes batches leaves every batch whole
/// or absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueuer_killed_mid_batch_leaves_whole_batches() {
    let run = Run::new("sqlite", Duration::from_secs(30));
    let store = run.store().await;
    let mut enqueuer = run.enqueuer(200_000, 0, 0);
    // Kill it once it is well under way.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while store.count_by_status().await.unwrap().total() < 2_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the enqueuer never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..50))).await;
    enqueuer.kill().unwrap();
    enqueuer.wait().unwrap();

    let mut per_batch: BTreeMap<String, usize> = BTreeMap::new();
    for job in all_jobs(&*store).await {
        *per_batch.entry(job.correlation_id.unwrap()).or_default() += 1;
    }
    assert!(
        per_batch.len() < 2_000,
        "the enqueuer was killed before it finished"
    );
    // Batches enqueued with create_many are whole; every fifth batch was
    // enqueued job by job and may be cut anywhere.
    for (batch, n) in &per_batch {
        let index: usize = batch.trim_start_matches("batch-").parse().unwrap();
        if index % 5 != 4 {
            assert_eq!(*n, 100, "{batch} is partial");
        }
    }
}
