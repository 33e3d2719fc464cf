//! Every statement the libSQL backend runs. Callers wrap writes in
//! immediate transactions; each state change is one `UPDATE` guarded by the
//! state it expects, as in the Diesel backend.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use libsql::{Connection, Value};

use super::db_error;
use super::row::{job_from_row, opt_int, Reader, COLUMNS, COLUMN_COUNT, SELECTED};
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, JobStatus, Progress};
use crate::store::rules::{self, PreparedJob};
use crate::store::sqlite::row::count_from_db;
use crate::store::{
    aborts_group, CancelOutcome, ClaimRequest, Claimed, Completion, FailOutcome, Failure,
    Heartbeat, JobPage, Lease, ListQuery, RescueSummary, StatusCounts,
};
use crate::time;

/// Rows per multi-row `INSERT`, well under SQLite's bound-value limit.
const INSERT_CHUNK: usize = 500;

/// Runs a statement and reads every row it returns as a job.
async fn jobs(conn: &Connection, sql: &str, params: Vec<Value>) -> StoreResult<Vec<Job>> {
    let mut rows = conn.query(sql, params).await.map_err(db_error)?;
    let mut jobs = Vec::new();
    while let Some(row) = rows.next().await.map_err(db_error)? {
        jobs.push(job_from_row(&row)?);
    }
    Ok(jobs)
}

/// Runs a statement and reads its first row, if any, with `read`.
pub(crate) async fn first<T>(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
    read: impl FnOnce(Reader<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut rows = conn.query(sql, params).await.map_err(db_error)?;
    let value = match rows.next().await.map_err(db_error)? {
        Some(row) => Some(read(Reader(&row))?),
        None => None,
    };
    // Drain, so no statement is left open when the transaction commits.
    while rows.next().await.map_err(db_error)?.is_some() {}
    Ok(value)
}

pub(crate) async fn execute(conn: &Connection, sql: &str, params: Vec<Value>) -> StoreResult<u64> {
    conn.execute(sql, params).await.map_err(db_error)
}

fn id(id: JobId) -> Value {
    Value::Text(id.to_string())
}

pub(crate) fn millis(at: DateTime<Utc>) -> Value {
    Value::Integer(time::to_millis(at))
}

fn lease_params(lease: &Lease) -> [Value; 2] {
    [id(lease.job_id), Value::Integer(i64::from(lease.attempt))]
}

/// Inserts prepared jobs (the caller's transaction makes them all-or-nothing).
pub(crate) async fn insert(conn: &Connection, prepared: &[PreparedJob]) -> StoreResult<()> {
    let row = format!("({})", vec!["?"; COLUMN_COUNT].join(", "));
    for chunk in prepared.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO jobs ({COLUMNS}) VALUES {}",
            vec![row.as_str(); chunk.len()].join(", ")
        );
        let mut params = Vec::with_capacity(chunk.len() * COLUMN_COUNT);
        for job in chunk {
            params.extend(super::row::insert_values(job)?);
        }
        execute(conn, &sql, params).await?;
    }
    Ok(())
}

/// The job with `id`.
pub(crate) async fn find(conn: &Connection, job: JobId) -> StoreResult<Job> {
    let sql = format!("SELECT {SELECTED} FROM jobs WHERE id = ?1");
    jobs(conn, &sql, vec![id(job)])
        .await?
        .pop()
        .ok_or(StoreError::NotFound(job))
}

/// One page of jobs, newest first.
pub(crate) async fn list(conn: &Connection, query: &ListQuery) -> StoreResult<JobPage> {
    query.validate()?;
    let mut filters = Vec::new();
    let mut params = Vec::new();
    if let Some(status) = query.status {
        filters.push("status = ?");
        params.push(Value::Text(status.as_str().into()));
    }
    if let Some(job_type) = &query.job_type {
        filters.push("job_type = ?");
        params.push(Value::Text(job_type.clone()));
    }
    if let Some(correlation_id) = &query.correlation_id {
        filters.push("correlation_id = ?");
        params.push(Value::Text(correlation_id.clone()));
    }
    if let Some(cursor) = query.cursor {
        filters.push("id < ?");
        params.push(id(cursor));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    params.push(Value::Integer(i64::from(query.limit) + 1));
    let sql = format!("SELECT {SELECTED} FROM jobs {filter} ORDER BY id DESC LIMIT ?");
    let jobs = jobs(conn, &sql, params).await?;
    Ok(JobPage::from_overfetched(jobs, query.limit))
}

/// How many jobs are in each status.
pub(crate) async fn count_by_status(conn: &Connection) -> StoreResult<StatusCounts> {
    let mut rows = conn
        .query("SELECT status, count(*) FROM jobs GROUP BY status", ())
        .await
        .map_err(db_error)?;
    let mut counts = StatusCounts::default();
    while let Some(row) = rows.next().await.map_err(db_error)? {
        let r = Reader(&row);
        let status: JobStatus = r
            .text(0)?
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("stored status: {e}")))?;
        counts.add(status, u64::try_from(r.int(1)?).unwrap_or(0));
    }
    Ok(counts)
}

/// How many jobs of each type are in each status.
pub(crate) async fn count_by_type(
    conn: &Connection,
) -> StoreResult<BTreeMap<String, StatusCounts>> {
    let mut rows = conn
        .query(
            "SELECT job_type, status, count(*) FROM jobs GROUP BY job_type, status",
            (),
        )
        .await
        .map_err(db_error)?;
    let mut counts: BTreeMap<String, StatusCounts> = BTreeMap::new();
    while let Some(row) = rows.next().await.map_err(db_error)? {
        let r = Reader(&row);
        let status: JobStatus = r
            .text(1)?
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("stored status: {e}")))?;
        counts
            .entry(r.text(0)?)
            .or_default()
            .add(status, u64::try_from(r.int(2)?).unwrap_or(0));
    }
    Ok(counts)
}

/// What a claim sets: running, for `?1`, until `?2`, at `?3`, next attempt.
const CLAIM_SET: &str = "SET status = 'running', attempt = attempt + 1, locked_by = ?1, \
     lease_expires_at = ?2, started_at = ?3, updated_at = ?3, stage = NULL, progress = NULL";

fn claimed_from(job: Job) -> Claimed {
    Claimed {
        lease: Lease {
            job_id: job.id,
            attempt: job.attempt,
        },
        job,
    }
}

/// Claims up to `request.limit` claimable jobs in FIFO order with one
/// `UPDATE ... WHERE rowid IN (SELECT rowid ... LIMIT n) RETURNING` statement.
pub(crate) async fn claim(
    conn: &Connection,
    request: &ClaimRequest,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Claimed>> {
    rules::validate_claim(request)?;
    let lease_until = time::add(now, request.lease_duration)?;
    let mut params = vec![
        Value::Text(request.worker_id.clone()),
        millis(lease_until),
        millis(now),
    ];
    let type_filter = match &request.job_types {
        None => String::new(),
        Some(types) if types.is_empty() => return Ok(Vec::new()),
        Some(types) => {
            let first = params.len() + 1;
            params.extend(types.iter().cloned().map(Value::Text));
            let placeholders: Vec<String> = (first..first + types.len())
                .map(|n| format!("?{n}"))
                .collect();
            format!("AND job_type IN ({})", placeholders.join(", "))
        }
    };
    // The limit is written as a number: SQLite plans around a bound
    // `LIMIT` and compiles the statement again each time its value changes.
    let limit = request.limit;
    let sql = format!(
        "UPDATE jobs {CLAIM_SET} WHERE rowid IN (SELECT rowid FROM jobs \
         WHERE status = 'pending' AND run_at <= ?3 {type_filter} \
         ORDER BY run_at, id LIMIT {limit}) RETURNING {SELECTED}"
    );
    let mut claimed: Vec<Claimed> = jobs(conn, &sql, params)
        .await?
        .into_iter()
        .map(claimed_from)
        .collect();
    // RETURNING yields rows in no particular order; hand them out in FIFO order.
    claimed.sort_by_key(|c| (c.job.run_at, c.job.id));
    Ok(claimed)
}

/// Writes each completion guarded by its own lease, in the caller's
/// transaction: a refused one changes nothing and the rest go on; an error
/// that aborts the group is returned.
pub(crate) async fn complete_group(
    conn: &Connection,
    completions: &[Completion],
    now: DateTime<Utc>,
) -> StoreResult<Vec<StoreResult<()>>> {
    let mut outcomes = Vec::with_capacity(completions.len());
    for c in completions {
        match complete(conn, &c.lease, now, &c.result).await {
            Err(error) if aborts_group(&error) => return Err(error),
            outcome => outcomes.push(outcome),
        }
    }
    Ok(outcomes)
}

/// Claims the pending job `job`, wherever it stands in the queue.
pub(crate) async fn claim_job(
    conn: &Connection,
    job: JobId,
    worker_id: &str,
    lease_duration: std::time::Duration,
    now: DateTime<Utc>,
) -> StoreResult<Claimed> {
    rules::validate_lease_holder(worker_id, lease_duration)?;
    let lease_until = time::add(now, lease_duration)?;
    let sql = format!(
        "UPDATE jobs {CLAIM_SET} WHERE id = ?4 AND status = 'pending' RETURNING {SELECTED}"
    );
    let params = vec![
        Value::Text(worker_id.to_string()),
        millis(lease_until),
        millis(now),
        id(job),
    ];
    match jobs(conn, &sql, params).await?.pop() {
        Some(claimed) => Ok(claimed_from(claimed)),
        None => Err(StoreError::InvalidTransition {
            id: job,
            action: "claim",
            status: find(conn, job).await?.status,
        }),
    }
}

/// Why a guarded write to the job held by `lease` matched no row.
async fn lease_error(conn: &Connection, lease: &Lease) -> StoreError {
    match find(conn, lease.job_id).await {
        Ok(job) => rules::lease_lost(lease.job_id, lease.attempt, job.status, job.attempt),
        Err(error) => error,
    }
}

async fn ensure_held(conn: &Connection, lease: &Lease, updated: u64) -> StoreResult<()> {
    if updated == 0 {
        return Err(lease_error(conn, lease).await);
    }
    Ok(())
}

/// The guard of every worker write: `?1` is the id, `?2` the attempt.
const HELD: &str = "id = ?1 AND status = 'running' AND attempt = ?2";

/// Extends a lease and reads whether cancellation was requested.
pub(crate) async fn heartbeat(
    conn: &Connection,
    lease: &Lease,
    now: DateTime<Utc>,
    extend_by: std::time::Duration,
) -> StoreResult<Heartbeat> {
    let until = time::truncate(time::add(now, extend_by)?);
    let [job, attempt] = lease_params(lease);
    let sql = format!(
        "UPDATE jobs SET lease_expires_at = ?3, updated_at = ?4 WHERE {HELD} \
         RETURNING cancel_requested"
    );
    let params = vec![job, attempt, millis(until), millis(now)];
    match first(conn, &sql, params, |r| r.int(0)).await? {
        Some(cancel_requested) => Ok(Heartbeat {
            lease_expires_at: until,
            cancel_requested: cancel_requested != 0,
        }),
        None => Err(lease_error(conn, lease).await),
    }
}

/// Records a running job's stage and percent.
pub(crate) async fn progress(
    conn: &Connection,
    lease: &Lease,
    now: DateTime<Utc>,
    progress: &Progress,
) -> StoreResult<()> {
    progress.validate()?;
    let [job, attempt] = lease_params(lease);
    let sql = format!("UPDATE jobs SET stage = ?3, progress = ?4, updated_at = ?5 WHERE {HELD}");
    let percent = progress
        .percent
        .map_or(Value::Null, |p| Value::Real(f64::from(p)));
    let params = vec![
        job,
        attempt,
        Value::Text(progress.stage.clone()),
        percent,
        millis(now),
    ];
    let updated = execute(conn, &sql, params).await?;
    ensure_held(conn, lease, updated).await
}

/// Moves the job held by `lease` out of running into `status`, clearing the
/// lease; a terminal status also stamps `completed_at`.
async fn leave_running(
    conn: &Connection,
    lease: &Lease,
    now: DateTime<Utc>,
    status: JobStatus,
) -> StoreResult<()> {
    let [job, attempt] = lease_params(lease);
    let sql = format!(
        "UPDATE jobs SET status = ?3, locked_by = NULL, lease_expires_at = NULL, \
         updated_at = ?4, completed_at = ?5 WHERE {HELD}"
    );
    let completed = opt_int(status.is_terminal().then_some(time::to_millis(now)));
    let params = vec![
        job,
        attempt,
        Value::Text(status.as_str().into()),
        millis(now),
        completed,
    ];
    let updated = execute(conn, &sql, params).await?;
    ensure_held(conn, lease, updated).await
}

/// Finishes a running job with its result.
pub(crate) async fn complete(
    conn: &Connection,
    lease: &Lease,
    now: DateTime<Utc>,
    result: &serde_json::Value,
) -> StoreResult<()> {
    let result = serde_json::to_string(result)
        .map_err(|e| StoreError::InvalidInput(format!("result is not valid JSON: {e}")))?;
    let [job, attempt] = lease_params(lease);
    let sql = format!(
        "UPDATE jobs SET status = 'completed', result = ?3, locked_by = NULL, \
         lease_expires_at = NULL, updated_at = ?4, completed_at = ?4 WHERE {HELD}"
    );
    let params = vec![job, attempt, Value::Text(result), millis(now)];
    let updated = execute(conn, &sql, params).await?;
    ensure_held(conn, lease, updated).await
}

/// Records a failed attempt and decides what follows.
pub(crate) async fn fail(
    conn: &Connection,
    lease: &Lease,
    now: DateTime<Utc>,
    failure: &Failure,
) -> StoreResult<FailOutcome> {
    let sql = format!(
        "SELECT retry_count, max_attempts, cancel_requested, run_at FROM jobs WHERE {HELD}"
    );
    let state = first(conn, &sql, lease_params(lease).to_vec(), |r| {
        Ok((r.int32(0)?, r.int32(1)?, r.int(2)? != 0, r.int(3)?))
    })
    .await?;
    let Some((retry_count, max_attempts, cancel_requested, run_at)) = state else {
        return Err(lease_error(conn, lease).await);
    };
    let retry_count = count_from_db(retry_count, "retry_count")?;
    let next = rules::after_failure(
        retry_count,
        count_from_db(max_attempts, "max_attempts")?,
        cancel_requested,
        failure.kind,
        now,
    )?;
    let (status, outcome, run_at, retry_count) = next.applied(run_at, retry_count);
    let retry_count = i64::from(retry_count);
    let [job, attempt] = lease_params(lease);
    let sql = format!(
        "UPDATE jobs SET status = ?3, error = ?4, run_at = ?5, retry_count = ?6, \
         locked_by = NULL, lease_expires_at = NULL, updated_at = ?7, completed_at = ?8 \
         WHERE {HELD}"
    );
    let completed = opt_int(status.is_terminal().then_some(time::to_millis(now)));
    let params = vec![
        job,
        attempt,
        Value::Text(status.as_str().into()),
        Value::Text(failure.message.clone()),
        Value::Integer(run_at),
        Value::Integer(retry_count),
        millis(now),
        completed,
    ];
    let updated = execute(conn, &sql, params).await?;
    ensure_held(conn, lease, updated).await?;
    Ok(outcome)
}

/// Puts a running job back to pending without spending an attempt.
pub(crate) async fn release(
    conn: &Connection,
    lease: &Lease,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    leave_running(conn, lease, now, JobStatus::Pending).await
}

/// Ends a running job as cancelled.
pub(crate) async fn mark_cancelled(
    conn: &Connection,
    lease: &Lease,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    leave_running(conn, lease, now, JobStatus::Cancelled).await
}

/// Cancels a pending job, or asks the worker of a running one to stop.
pub(crate) async fn cancel(
    conn: &Connection,
    job: JobId,
    now: DateTime<Utc>,
) -> StoreResult<CancelOutcome> {
    match find(conn, job).await?.status {
        JobStatus::Pending => {
            execute(
                conn,
                "UPDATE jobs SET status = 'cancelled', updated_at = ?2, completed_at = ?2 \
                 WHERE id = ?1 AND status = 'pending'",
                vec![id(job), millis(now)],
            )
            .await?;
            Ok(CancelOutcome::Cancelled)
        }
        JobStatus::Running => {
            execute(
                conn,
                "UPDATE jobs SET cancel_requested = 1, updated_at = ?2 \
                 WHERE id = ?1 AND status = 'running'",
                vec![id(job), millis(now)],
            )
            .await?;
            Ok(CancelOutcome::Requested)
        }
        finished => Ok(CancelOutcome::AlreadyFinished(finished)),
    }
}

/// Rescues running jobs whose lease expired: cancels those whose
/// cancellation was requested, requeues those with attempts left, and fails
/// the rest. Three guarded statements, in that order.
pub(crate) async fn rescue_expired(
    conn: &Connection,
    now: DateTime<Utc>,
) -> StoreResult<RescueSummary> {
    const EXPIRED: &str = "status = 'running' AND lease_expires_at < ?1";
    let cancelled = execute(
        conn,
        &format!(
            "UPDATE jobs SET status = 'cancelled', locked_by = NULL, lease_expires_at = NULL, \
             updated_at = ?1, completed_at = ?1 WHERE {EXPIRED} AND cancel_requested = 1"
        ),
        vec![millis(now)],
    )
    .await?;
    let requeued = execute(
        conn,
        &format!(
            "UPDATE jobs SET status = 'pending', retry_count = retry_count + 1, error = ?2, \
             locked_by = NULL, lease_expires_at = NULL, updated_at = ?1 \
             WHERE {EXPIRED} AND retry_count + 1 < max_attempts"
        ),
        vec![
            millis(now),
            Value::Text(rules::RESCUE_REQUEUED_ERROR.into()),
        ],
    )
    .await?;
    let mut rows = conn
        .query(
            &format!(
                "UPDATE jobs SET status = 'failed', error = ?2, locked_by = NULL, \
                 lease_expires_at = NULL, updated_at = ?1, completed_at = ?1 WHERE {EXPIRED} \
                 RETURNING job_type"
            ),
            vec![millis(now), Value::Text(rules::RESCUE_FAILED_ERROR.into())],
        )
        .await
        .map_err(db_error)?;
    let mut failed_types = Vec::new();
    while let Some(row) = rows.next().await.map_err(db_error)? {
        failed_types.push(Reader(&row).text(0)?);
    }
    Ok(RescueSummary {
        requeued,
        failed: failed_types.len() as u64,
        cancelled,
        failed_by_type: rules::count_types(failed_types),
    })
}

/// How many pending jobs precede `job` in claim order.
pub(crate) async fn queue_position(conn: &Connection, job: JobId) -> StoreResult<Option<u64>> {
    let found = find(conn, job).await?;
    if found.status != JobStatus::Pending {
        return Ok(None);
    }
    let ahead = first(
        conn,
        "SELECT count(*) FROM jobs WHERE status = 'pending' \
         AND (run_at < ?1 OR (run_at = ?1 AND id < ?2))",
        vec![millis(found.run_at), id(job)],
        |r| r.int(0),
    )
    .await?
    .unwrap_or(0);
    Ok(Some(u64::try_from(ahead).unwrap_or(0)))
}

/// Creates the job that retries `job`.
pub(crate) async fn retry(conn: &Connection, job: JobId, now: DateTime<Utc>) -> StoreResult<Job> {
    let original = find(conn, job).await?;
    let new = rules::retry_of(&original)?;
    let prepared = rules::prepare(&new, now, Some(job))?;
    insert(conn, std::slice::from_ref(&prepared)).await?;
    Ok(prepared.job)
}
