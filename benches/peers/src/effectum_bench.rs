//! The effectum 0.7 baseline: enqueueing, processing and idle pickup of
//! no-op jobs through effectum's public API.
//!
//! Journal mode. effectum 0.7 means to open its database in WAL mode, but
//! `Queue::with_options` (its src/local_queue.rs) runs
//! `conn.pragma_update(None, "journal", "wal")`: there is no pragma named
//! `journal` (the pragma is `journal_mode`), and SQLite ignores unknown
//! pragmas without an error, so the file stays in the default rollback
//! journal (`delete`). It does set `synchronous = normal`, on its writer
//! connection. Without `--wal` the file is left to effectum as shipped;
//! with `--wal` it is created in WAL mode first (WAL is recorded in the
//! file, so effectum's connections then use it). Each run reports the mode
//! the file ended in.
//!
//! How effectum writes. Every write (enqueue, claim, completion) is sent to
//! one writer thread, which runs whatever operations are waiting, up to 50,
//! in one transaction, and answers each caller after the commit. So
//! concurrent jobs share commits, while calls made one after another (as
//! the enqueue and pickup runs make them) get one transaction each.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use effectum::{Job, JobRunner, Queue, RunningJob, Worker};
use tokio::sync::mpsc;

use crate::cli::Run;
use crate::report::Measurement;
use crate::sqlite_file;

/// The job type of every baseline job.
const JOB_TYPE: &str = "noop";
/// A no-op job's payload: `{}`, like a jobstore no-op job's params.
const PAYLOAD: &[u8] = b"{}";
/// Jobs per `add_jobs` call when pre-filling the queue (not timed).
const PREFILL_BATCH: usize = 1000;
/// How often the processing run looks whether the last job is finished.
const FINISH_POLL: Duration = Duration::from_millis(1);
/// The longest wait for one job, or for the worker to stop.
const PATIENCE: Duration = Duration::from_secs(60);
/// The random pause before each pickup, so pickups do not fall into step
/// with anything periodic in the worker.
const PICKUP_PAUSE_MS: std::ops::RangeInclusive<u64> = 5..=25;

/// `effectum-enqueue`: `run.jobs` jobs, one per `add_job` call (batch 1) or
/// `run.batch` per `add_jobs` call. Calls are made one after another, each
/// awaited, so each is its own transaction. Timed from the first call to
/// the return of the last, which comes after its commit.
pub fn enqueue(run: &Run) -> Result<Measurement> {
    in_runtime(async {
        let queue = open_queue(&run.db, run.wal).await?;
        let start = Instant::now();
        if run.batch == 1 {
            for _ in 0..run.jobs {
                queue.add_job(noop_job()).await?;
            }
        } else {
            add_in_batches(&queue, run.jobs, run.batch).await?;
        }
        let seconds = start.elapsed().as_secs_f64();
        close(queue).await?;
        expect_jobs(&run.db, "pending", run.jobs)?;
        Ok(Measurement::new(seconds))
    })
}

/// `effectum-process`: pre-fills `run.jobs` jobs, then starts one worker
/// with min and max concurrency `run.concurrency` running a handler that
/// does nothing. Timed from the worker's start to the commit of the last
/// job's completion.
pub fn process(run: &Run) -> Result<Measurement> {
    let concurrency = u16::try_from(run.concurrency).context("--concurrency is too large")?;
    in_runtime(async {
        let queue = open_queue(&run.db, run.wal).await?;
        add_in_batches(&queue, run.jobs, PREFILL_BATCH).await?;

        let start = Instant::now();
        let worker = Worker::builder(&queue, ())
            .jobs([noop_runner()])
            .min_concurrency(concurrency)
            .max_concurrency(concurrency)
            .build()
            .await?;
        wait_until_finished(&worker, run.jobs).await?;
        let seconds = start.elapsed().as_secs_f64();

        worker.unregister(Some(PATIENCE)).await?;
        close(queue).await?;
        expect_jobs(&run.db, "succeeded", run.jobs)?;
        Ok(Measurement::new(seconds))
    })
}

/// `effectum-pickup`: with one idle worker (concurrency 1), enqueues one
/// job at a time after a short random pause, and measures from just before
/// the `add_job` call to the moment the handler starts. That span holds
/// effectum's enqueue transaction, its wake-up of the worker and the
/// claim transaction. Reports the spread of `run.jobs` such pickups; the
/// `seconds` of the run include the pauses.
pub fn pickup(run: &Run) -> Result<Measurement> {
    in_runtime(async {
        let queue = open_queue(&run.db, run.wal).await?;
        let (started_tx, mut started_rx) = mpsc::unbounded_channel::<Instant>();
        let worker = Worker::builder(&queue, started_tx)
            .jobs([signalling_runner()])
            .max_concurrency(1)
            .build()
            .await?;
        // Let the worker settle into waiting for work.
        tokio::time::sleep(Duration::from_millis(100)).await;

        let mut pickups = Vec::with_capacity(run.jobs);
        let mut enqueue_calls = Vec::with_capacity(run.jobs);
        let start = Instant::now();
        for _ in 0..run.jobs {
            tokio::time::sleep(Duration::from_millis(fastrand::u64(PICKUP_PAUSE_MS))).await;
            let enqueued = Instant::now();
            queue.add_job(noop_job()).await?;
            enqueue_calls.push(enqueued.elapsed());
            let started = tokio::time::timeout(PATIENCE, started_rx.recv())
                .await
                .context("no job started in time")?
                .context("the worker stopped")?;
            pickups.push(started.saturating_duration_since(enqueued));
        }
        let seconds = start.elapsed().as_secs_f64();

        wait_until_finished(&worker, run.jobs).await?;
        worker.unregister(Some(PATIENCE)).await?;
        close(queue).await?;
        expect_jobs(&run.db, "succeeded", run.jobs)?;
        Ok(Measurement::new(seconds)
            .with_latencies("", &pickups)
            .with_latencies("enqueue_call", &enqueue_calls))
    })
}

/// Runs `work` on a multi-threaded tokio runtime (one thread per core).
fn in_runtime<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(work)
}

/// Opens the queue at `path`, which does not exist yet: as effectum
/// creates it, or first created in WAL mode when `wal`.
async fn open_queue(path: &Path, wal: bool) -> Result<Queue> {
    if wal {
        sqlite_file::create_in_wal_mode(path)?;
    }
    Queue::new(path)
        .await
        .with_context(|| format!("effectum cannot open {}", path.display()))
}

/// Closes the queue, waiting for its writer thread to finish.
async fn close(queue: Queue) -> Result<()> {
    queue.close(PATIENCE).await?;
    Ok(())
}

fn noop_job() -> Job {
    Job::builder(JOB_TYPE).payload(PAYLOAD.to_vec()).build()
}

/// Adds `count` jobs, `batch` per `add_jobs` call.
async fn add_in_batches(queue: &Queue, count: usize, batch: usize) -> Result<()> {
    let mut left = count;
    while left > 0 {
        let size = batch.min(left);
        queue
            .add_jobs((0..size).map(|_| noop_job()).collect())
            .await?;
        left -= size;
    }
    Ok(())
}

/// A handler that does nothing.
fn noop_runner() -> JobRunner<()> {
    JobRunner::builder(JOB_TYPE, |_job: RunningJob, _context: ()| async {
        Ok::<(), effectum::Error>(())
    })
    .build()
}

/// A handler that only tells, through its context, the instant it started.
fn signalling_runner() -> JobRunner<mpsc::UnboundedSender<Instant>> {
    JobRunner::builder(
        JOB_TYPE,
        |_job: RunningJob, started: mpsc::UnboundedSender<Instant>| async move {
            // The receiver outlives the worker; a failed send cannot happen.
            let _ = started.send(Instant::now());
            Ok::<(), effectum::Error>(())
        },
    )
    .build()
}

/// Waits until `worker` has finished `count` jobs, their completions
/// committed; fails if no job finishes for [`PATIENCE`].
///
/// `Worker::counts().finished` is an atomic counter, so looking at it every
/// millisecond costs next to nothing and takes no database lock. It is
/// counted after the completion is committed: `RunningJob::complete` holds
/// the job's "done" channel until the writer thread answers, which it does
/// after the commit; the job's monitor task counts the job as finished
/// only once that channel closes. The database is checked afterwards too.
async fn wait_until_finished(worker: &Worker, count: usize) -> Result<()> {
    let mut finished = worker.counts().finished;
    let mut last_progress = Instant::now();
    while (finished as usize) < count {
        tokio::time::sleep(FINISH_POLL).await;
        let now_finished = worker.counts().finished;
        if now_finished > finished {
            finished = now_finished;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > PATIENCE {
            bail!("stuck at {finished} of {count} jobs finished");
        }
    }
    Ok(())
}

/// Fails unless exactly `expected` jobs are in effectum's `status`.
fn expect_jobs(db: &Path, status: &str, expected: usize) -> Result<()> {
    let sql = format!("SELECT count(*) FROM jobs WHERE status = '{status}'");
    let found = sqlite_file::count(db, &sql)?;
    ensure!(
        found == expected,
        "{found} effectum jobs are {status}, expected {expected}"
    );
    Ok(())
}
