//! The raw SQLite baseline: jobstore's own table, settings and statements,
//! run through rusqlite with nothing in between.

mod jobs;
mod schema;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use anyhow::{anyhow, ensure, Context, Result};
use rusqlite::{Connection, TransactionBehavior};

use crate::cli::Run;
use crate::report::Measurement;
use crate::sqlite_file;

/// Jobs per transaction when pre-filling the queue (not timed).
const PREFILL_BATCH: usize = 1000;

/// `raw-enqueue`: inserts `run.jobs` jobs, `run.batch` per `BEGIN
/// IMMEDIATE` transaction. Timed from the first insert to the last commit.
pub fn enqueue(run: &Run) -> Result<Measurement> {
    let mut conn = create_database(run)?;
    let start = Instant::now();
    insert_jobs(&mut conn, run.jobs, run.batch)?;
    let seconds = start.elapsed().as_secs_f64();
    drop(conn);
    expect_jobs(&run.db, "pending", run.jobs)?;
    Ok(Measurement::new(seconds))
}

/// `raw-process`: pre-fills `run.jobs` pending jobs, then `run.concurrency`
/// threads, each on its own connection, claim up to `run.batch` jobs in one
/// transaction and complete them in a second, until a claim finds nothing.
/// Timed from the first claim to the last commit.
pub fn process(run: &Run) -> Result<Measurement> {
    let mut conn = create_database(run)?;
    insert_jobs(&mut conn, run.jobs, PREFILL_BATCH)?;
    drop(conn);

    let threads = run.concurrency;
    // Every thread opens its connection before the clock starts.
    let ready = Arc::new(Barrier::new(threads + 1));
    let workers = (0..threads)
        .map(|n| spawn_worker(&run.db, worker_id(n), run.batch, Arc::clone(&ready)))
        .collect::<Vec<_>>();
    ready.wait();
    let start = Instant::now();
    let mut processed = 0;
    for worker in workers {
        processed += worker
            .join()
            .map_err(|_| anyhow!("a worker thread panicked"))??;
    }
    let seconds = start.elapsed().as_secs_f64();

    ensure!(
        processed == run.jobs,
        "processed {processed} of {} jobs",
        run.jobs
    );
    expect_jobs(&run.db, "completed", run.jobs)?;
    Ok(Measurement::new(seconds))
}

/// Creates the database with jobstore's schema; returns a connection to it
/// with jobstore's settings.
fn create_database(run: &Run) -> Result<Connection> {
    let migrations = run
        .migrations
        .as_deref()
        .context("the raw scenarios need jobstore's migrations")?;
    let conn = schema::open(&run.db)?;
    schema::migrate(&conn, migrations)?;
    Ok(conn)
}

/// Inserts `count` jobs, `batch` per transaction.
fn insert_jobs(conn: &mut Connection, count: usize, batch: usize) -> Result<()> {
    let mut left = count;
    while left > 0 {
        let size = batch.min(left);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for _ in 0..size {
            jobs::insert(&tx)?;
        }
        tx.commit()?;
        left -= size;
    }
    Ok(())
}

/// A worker id in jobstore's shape (`worker-<pid>-<suffix>`).
fn worker_id(n: usize) -> String {
    format!("worker-{}-{n}", std::process::id())
}

/// Starts a thread that opens its own connection, waits at `ready`, then
/// works the queue dry; it returns how many jobs it completed.
fn spawn_worker(
    db: &Path,
    worker_id: String,
    batch: usize,
    ready: Arc<Barrier>,
) -> thread::JoinHandle<Result<usize>> {
    let db = db.to_path_buf();
    thread::spawn(move || {
        let conn = schema::open(&db);
        // Wait even when opening failed, or the others would wait forever.
        ready.wait();
        work_queue_dry(&mut conn?, &worker_id, batch)
    })
}

/// Claims up to `batch` jobs in one transaction and completes them in a
/// second, until a claim returns nothing.
fn work_queue_dry(conn: &mut Connection, worker_id: &str, batch: usize) -> Result<usize> {
    let mut completed = 0;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed = jobs::claim(&tx, worker_id, batch)?;
        tx.commit()?;
        if claimed.is_empty() {
            return Ok(completed);
        }

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in &claimed {
            jobs::complete(&tx, job)?;
        }
        tx.commit()?;
        completed += claimed.len();
    }
}

/// Fails unless exactly `expected` jobs ended in `status`.
fn expect_jobs(db: &Path, status: &str, expected: usize) -> Result<()> {
    let sql = format!(
        "SELECT count(*) FROM jobs WHERE status = '{status}' AND job_type = '{}'",
        jobs::JOB_TYPE
    );
    let found = sqlite_file::count(db, &sql)?;
    ensure!(
        found == expected,
        "{found} jobs are {status}, expected {expected}"
    );
    Ok(())
}
