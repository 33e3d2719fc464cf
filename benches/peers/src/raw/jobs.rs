//! jobstore's enqueue, claim and complete statements, written by hand.
//!
//! Each mirrors what jobstore's Diesel backend sends
//! (`src/store/sql/create.rs`, `claim.rs`, `lease.rs` and `job_row.rs`): the same columns, values
//! in the same formats, every value bound as a parameter.
//!
//! * ids are UUIDv7 in 36-character lowercase text, made from a
//!   process-wide context so ids of one millisecond still sort in creation
//!   order (as `JobId::new_at` does);
//! * timestamps are milliseconds since the Unix epoch;
//! * params and results are JSON text.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Result};
use rusqlite::{params, Connection};
use uuid::{timestamp::context::ContextV7, Timestamp, Uuid};

/// The job type of every baseline job.
pub const JOB_TYPE: &str = "noop";
/// A no-op job's params.
const PARAMS: &str = "{}";
/// How jobstore stores a handler's `()` output: `serde_json::to_string`
/// of `Value::Null`.
const UNIT_RESULT: &str = "null";
/// `NewJob::DEFAULT_MAX_ATTEMPTS`.
const MAX_ATTEMPTS: i64 = 2;
/// `NewJob::DEFAULT_QUEUE`.
const QUEUE: &str = "default";
/// `NewJob::DEFAULT_PRIORITY`.
const PRIORITY: i64 = 5;
/// `ClaimRequest::DEFAULT_LEASE`, in milliseconds.
const LEASE_MS: i64 = 60_000;

/// The insert of a job row: all 26 columns, the empty ones bound as NULL,
/// none left to defaults.
/// Like jobstore's SQLite backend, this baseline runs this one-row
/// statement once per job, prepared once.
const INSERT: &str = "INSERT INTO jobs (id, job_type, status, stage, progress, params, result, \
     error, retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at, \
     cancel_requested, retry_of, correlation_id, created_at, updated_at, started_at, completed_at, \
     queue, priority, unique_key, unique_scope, unique_for_ms) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
     ?20, ?21, ?22, ?23, ?24, ?25, ?26)";

/// The claim as jobstore runs it (`src/store/sql/claim.rs`), for the
/// default queue: one `UPDATE` of the first claimable jobs by priority,
/// `run_at` and id (the partial `jobs_claim_idx`, sought once per
/// priority), at most as many as asked and as the queue's pause and
/// concurrency limit leave room for, read in the same statement; setting
/// what a claim sets, returning every column but the eight the claim
/// decides (status, lease, times of the change, stage, percent, queue).
const CLAIM_HEAD: &str = "UPDATE OR FAIL jobs SET status = 'running', attempt = attempt + 1, locked_by = ?1, \
     lease_expires_at = ?2, started_at = ?3, updated_at = ?4, stage = NULL, progress = NULL \
     WHERE rowid IN (SELECT rowid FROM jobs WHERE status = 'pending' AND queue = ?6 \
     AND priority IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9) AND run_at <= ?5 \
     ORDER BY priority, run_at, id LIMIT ";
const CLAIM_TAIL: &str = ") RETURNING id, job_type, params, result, error, retry_count, \
     max_attempts, attempt, run_at, cancel_requested, retry_of, correlation_id, created_at, \
     completed_at, priority, unique_key, unique_scope, unique_for_ms";

/// The `LIMIT` of a claim of `n`: the room the queue `?6` leaves.
fn claim_limit(n: usize) -> String {
    format!(
        "coalesce((SELECT CASE WHEN q.paused THEN 0 WHEN q.concurrency_limit IS NULL THEN {n} \
         ELSE (SELECT CASE WHEN q.concurrency_limit - count(*) >= {n} THEN {n} \
         WHEN q.concurrency_limit - count(*) > 0 THEN q.concurrency_limit - count(*) ELSE 0 END \
         FROM jobs AS r WHERE r.status = 'running' AND r.queue = ?6) END \
         FROM queues AS q WHERE q.name = ?6), {n})"
    )
}

/// The completion as jobstore runs it
/// (`src/store/sql/lease.rs`): one single-row `UPDATE` guarded by the
/// lease (running, at the claimed attempt), storing the result and clearing
/// the lease.
const COMPLETE: &str = "UPDATE OR FAIL jobs SET status = 'completed', result = ?1, \
     lease_expires_at = NULL, updated_at = ?2, completed_at = ?3 \
     WHERE id = ?4 AND status = 'running' AND attempt = ?5";

/// One counter for the whole process, as jobstore's `ID_CONTEXT`.
static ID_CONTEXT: Mutex<ContextV7> = Mutex::new(ContextV7::new());

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit in i64")
}

/// A job id for a job created at `millis`, as `JobId::new_at` makes it.
fn job_id_at(millis: i64) -> String {
    let seconds = (millis / 1000) as u64;
    let nanos = (millis % 1000) as u32 * 1_000_000;
    let timestamp = Timestamp::from_unix(&ID_CONTEXT, seconds, nanos);
    Uuid::new_v7(timestamp).hyphenated().to_string()
}

/// Inserts one pending no-op job created now, claimable at once. Uses the
/// connection's statement cache, so the statement is prepared once.
pub fn insert(conn: &Connection) -> Result<()> {
    let now = now_millis();
    let mut insert = conn.prepare_cached(INSERT)?;
    insert.execute(params![
        job_id_at(now),
        JOB_TYPE,
        "pending",
        None::<String>, // stage
        None::<f64>,    // progress
        PARAMS,
        None::<String>, // result
        None::<String>, // error
        0,              // retry_count
        MAX_ATTEMPTS,
        0,              // attempt
        now,            // run_at: an unscheduled job is claimable from its creation
        None::<String>, // locked_by
        None::<i64>,    // lease_expires_at
        false,          // cancel_requested
        None::<String>, // retry_of
        None::<String>, // correlation_id
        now,            // created_at
        now,            // updated_at
        None::<i64>,    // started_at
        None::<i64>,    // completed_at
        QUEUE,
        PRIORITY,
        None::<String>, // unique_key
        None::<String>, // unique_scope
        None::<i64>,    // unique_for_ms
    ])?;
    Ok(())
}

/// What a worker keeps of a claimed job: its lease (id and attempt), its
/// place in FIFO order, and what a handler is given.
#[derive(Debug)]
pub struct Claimed {
    pub id: String,
    pub attempt: i64,
    pub run_at: i64,
    // Read out of each row as a worker must, though the no-op handler of
    // this baseline never looks at them.
    #[allow(dead_code)]
    pub job_type: String,
    #[allow(dead_code)]
    pub params: String,
}

/// Claims up to `limit` claimable jobs for `worker_id`, oldest first.
pub fn claim(conn: &Connection, worker_id: &str, limit: usize) -> Result<Vec<Claimed>> {
    let now = now_millis();
    // As jobstore: the limit is part of the SQL, one cached statement per
    // claim size.
    let mut claim = conn.prepare_cached(&format!(
        "{CLAIM_HEAD}{}{CLAIM_TAIL}",
        claim_limit(limit)
    ))?;
    let rows = claim.query_map(
        params![
            worker_id,
            now + LEASE_MS,
            now, // started_at
            now, // updated_at
            now, // run_at <= now
            QUEUE,
        ],
        |row| {
            Ok(Claimed {
                id: row.get("id")?,
                attempt: row.get("attempt")?,
                run_at: row.get("run_at")?,
                job_type: row.get("job_type")?,
                params: row.get("params")?,
            })
        },
    )?;
    let mut claimed = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    // RETURNING yields rows in no particular order; jobstore hands them out
    // in FIFO order, and so does this.
    // (Every baseline job has the same priority.)
    claimed.sort_by(|a, b| (a.run_at, &a.id).cmp(&(b.run_at, &b.id)));
    Ok(claimed)
}

/// Completes the claimed job `job` with a `()` result; fails if the lease
/// no longer holds it.
pub fn complete(conn: &Connection, job: &Claimed) -> Result<()> {
    let now = now_millis();
    let mut complete = conn.prepare_cached(COMPLETE)?;
    let updated = complete.execute(params![
        UNIT_RESULT,
        now, // updated_at
        now, // completed_at
        job.id,
        job.attempt,
    ])?;
    ensure!(
        updated == 1,
        "job {} was no longer held at attempt {}",
        job.id,
        job.attempt
    );
    Ok(())
}
