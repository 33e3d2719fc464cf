//! Every statement the Diesel backend runs, as plain functions on a
//! connection. Callers wrap writes in `BEGIN IMMEDIATE` transactions.
//!
//! Each state change is one `UPDATE` guarded by the state it expects (and,
//! for a worker's write, the attempt holding the lease), so a lost race
//! changes nothing; the loser then reads the row to say what happened.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, Filter, Lt};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel::sqlite::SqliteConnection;

use super::row::{count_from_db, count_to_db, status_from_db, JobRow};
use super::statements::{ClaimStatement, CompleteStatement};
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, JobStatus, Progress};
use crate::schema::jobs;
use crate::store::rules::{self, PreparedJob};
use crate::store::{
    aborts_group, CancelOutcome, ClaimRequest, Claimed, Completion, FailOutcome, Failure,
    Heartbeat, JobPage, Lease, ListQuery, RescueSummary, StatusCounts,
};
use crate::time;

const PENDING: &str = "pending";
const RUNNING: &str = "running";
const FAILED: &str = "failed";
const CANCELLED: &str = "cancelled";

/// Inserts prepared jobs (the caller's transaction makes them all-or-nothing).
///
/// Rows go in by multi-row `INSERT`s of 64, 16, 4 and 1 rows: fixed shapes
/// that the connection keeps prepared, so a batch of any size is a few
/// statements and is never parsed again. (A multi-row `INSERT` of the
/// batch's own size is a new statement for every size, which Diesel
/// prepares anew each time; one statement per row pays SQLite's per-statement
/// cost for every row.)
pub(crate) fn insert(conn: &mut SqliteConnection, prepared: &[PreparedJob]) -> StoreResult<()> {
    let rows = prepared
        .iter()
        .map(JobRow::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    let rest = insert_chunks::<64>(conn, &rows)?;
    let rest = insert_chunks::<16>(conn, rest)?;
    let rest = insert_chunks::<4>(conn, rest)?;
    insert_chunks::<1>(conn, rest)?;
    Ok(())
}

/// Inserts as many whole chunks of `N` rows as `rows` holds, one statement
/// per chunk, and returns the rows left over (fewer than `N`).
fn insert_chunks<'r, const N: usize>(
    conn: &mut SqliteConnection,
    rows: &'r [JobRow],
) -> StoreResult<&'r [JobRow]> {
    let mut rest = rows;
    while let Some((chunk, tail)) = rest.split_first_chunk::<N>() {
        diesel::insert_into(jobs::table)
            .values(chunk)
            .execute(conn)?;
        rest = tail;
    }
    Ok(rest)
}

/// The job with `id`.
pub(crate) fn find(conn: &mut SqliteConnection, id: JobId) -> StoreResult<Job> {
    jobs::table
        .find(id.to_string())
        .select(JobRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound(id))?
        .try_into()
}

/// One page of jobs, newest first.
pub(crate) fn list(conn: &mut SqliteConnection, query: &ListQuery) -> StoreResult<JobPage> {
    query.validate()?;
    let mut select = jobs::table.select(JobRow::as_select()).into_boxed();
    if let Some(status) = query.status {
        select = select.filter(jobs::status.eq(status.as_str()));
    }
    if let Some(job_type) = &query.job_type {
        select = select.filter(jobs::job_type.eq(job_type.clone()));
    }
    if let Some(correlation_id) = &query.correlation_id {
        select = select.filter(jobs::correlation_id.eq(correlation_id.clone()));
    }
    if let Some(cursor) = query.cursor {
        select = select.filter(jobs::id.lt(cursor.to_string()));
    }
    let rows = select
        .order(jobs::id.desc())
        .limit(i64::from(query.limit) + 1)
        .load(conn)?;
    let jobs = rows
        .into_iter()
        .map(Job::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(JobPage::from_overfetched(jobs, query.limit))
}

/// How many jobs are in each status.
pub(crate) fn count_by_status(conn: &mut SqliteConnection) -> StoreResult<StatusCounts> {
    let rows: Vec<(String, i64)> = jobs::table
        .group_by(jobs::status)
        .select((jobs::status, count_star()))
        .load(conn)?;
    let mut counts = StatusCounts::default();
    for (status, n) in rows {
        counts.add(status_from_db(&status)?, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// How many jobs of each type are in each status.
pub(crate) fn count_by_type(
    conn: &mut SqliteConnection,
) -> StoreResult<BTreeMap<String, StatusCounts>> {
    let rows: Vec<(String, String, i64)> = jobs::table
        .group_by((jobs::job_type, jobs::status))
        .select((jobs::job_type, jobs::status, count_star()))
        .load(conn)?;
    let mut counts: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for (job_type, status, n) in rows {
        counts
            .entry(job_type)
            .or_default()
            .add(status_from_db(&status)?, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// Claims up to `request.limit` claimable jobs in FIFO order with one
/// `UPDATE ... WHERE rowid IN (SELECT rowid ... LIMIT n) RETURNING` statement.
pub(crate) fn claim(
    conn: &mut SqliteConnection,
    request: &ClaimRequest,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Claimed>> {
    rules::validate_claim(request)?;
    let lease_until = time::to_millis(time::add(now, request.lease_duration)?);
    let now = time::to_millis(now);
    let rows: Vec<JobRow> = ClaimStatement::new(
        &request.worker_id,
        lease_until,
        now,
        request.limit,
        request.job_types.as_deref(),
    )
    .get_results(conn)?;
    let mut claimed = rows
        .into_iter()
        .map(claimed_from)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING yields rows in no particular order; hand them out in FIFO order.
    claimed.sort_by_key(|c| (c.job.run_at, c.job.id));
    Ok(claimed)
}

/// Writes each completion guarded by its own lease, in the caller's
/// transaction: a refused one changes nothing and the rest go on; an error
/// that aborts the group is returned.
pub(crate) fn complete_group(
    conn: &mut SqliteConnection,
    completions: &[Completion],
    now: DateTime<Utc>,
) -> StoreResult<Vec<StoreResult<()>>> {
    completions
        .iter()
        .map(|c| match complete(conn, &c.lease, now, &c.result) {
            Err(error) if aborts_group(&error) => Err(error),
            outcome => Ok(outcome),
        })
        .collect()
}

/// Claims the pending job `id`, wherever it stands in the queue.
pub(crate) fn claim_job(
    conn: &mut SqliteConnection,
    id: JobId,
    worker_id: &str,
    lease_duration: std::time::Duration,
    now: DateTime<Utc>,
) -> StoreResult<Claimed> {
    rules::validate_lease_holder(worker_id, lease_duration)?;
    let lease_until = time::to_millis(time::add(now, lease_duration)?);
    let now = time::to_millis(now);
    let row: Option<JobRow> = diesel::update(
        jobs::table
            .find(id.to_string())
            .filter(jobs::status.eq(PENDING)),
    )
    .set(claimed_by(worker_id, now, lease_until))
    .returning(JobRow::as_returning())
    .get_result(conn)
    .optional()?;
    match row {
        Some(row) => claimed_from(row),
        None => {
            let job = find(conn, id)?;
            Err(StoreError::InvalidTransition {
                id,
                action: "claim",
                status: job.status,
            })
        }
    }
}

/// The columns a claim sets: running, for `worker_id`, the next attempt.
#[allow(clippy::type_complexity)]
fn claimed_by(
    worker_id: &str,
    now: i64,
    lease_until: i64,
) -> (
    diesel::dsl::Eq<jobs::status, &'static str>,
    diesel::dsl::Eq<jobs::attempt, diesel::dsl::Add<jobs::attempt, i32>>,
    diesel::dsl::Eq<jobs::locked_by, &str>,
    diesel::dsl::Eq<jobs::lease_expires_at, i64>,
    diesel::dsl::Eq<jobs::started_at, i64>,
    diesel::dsl::Eq<jobs::updated_at, i64>,
    diesel::dsl::Eq<jobs::stage, Option<String>>,
    diesel::dsl::Eq<jobs::progress, Option<f32>>,
) {
    (
        jobs::status.eq(RUNNING),
        jobs::attempt.eq(jobs::attempt + 1),
        jobs::locked_by.eq(worker_id),
        jobs::lease_expires_at.eq(lease_until),
        jobs::started_at.eq(now),
        jobs::updated_at.eq(now),
        jobs::stage.eq(None::<String>),
        jobs::progress.eq(None::<f32>),
    )
}

/// A claimed row, with the lease its new attempt holds.
fn claimed_from(row: JobRow) -> StoreResult<Claimed> {
    let job = Job::try_from(row)?;
    Ok(Claimed {
        lease: Lease {
            job_id: job.id,
            attempt: job.attempt,
        },
        job,
    })
}

/// Why a guarded write to the job held by `lease` matched no row: the job
/// is gone, or the lease no longer holds it.
fn lease_error(conn: &mut SqliteConnection, lease: &Lease) -> StoreError {
    let mut lookup = || -> StoreResult<StoreError> {
        let (status, attempt): (String, i32) = jobs::table
            .find(lease.job_id.to_string())
            .select((jobs::status, jobs::attempt))
            .first(conn)
            .optional()?
            .ok_or(StoreError::NotFound(lease.job_id))?;
        let status = status_from_db(&status)?;
        let attempt = count_from_db(attempt, "attempt")?;
        Ok(rules::lease_lost(
            lease.job_id,
            lease.attempt,
            status,
            attempt,
        ))
    };
    lookup().unwrap_or_else(|error| error)
}

/// `Ok` when a guarded write changed a row, else why it did not.
fn ensure_held(conn: &mut SqliteConnection, lease: &Lease, updated: usize) -> StoreResult<()> {
    if updated == 0 {
        return Err(lease_error(conn, lease));
    }
    Ok(())
}

/// The job held by `lease`: its id, running, at the lease's attempt.
#[diesel::dsl::auto_type]
fn held(id: String, attempt: i32) -> _ {
    let running: &'static str = RUNNING;
    jobs::table
        .filter(jobs::id.eq(id))
        .filter(jobs::status.eq(running))
        .filter(jobs::attempt.eq(attempt))
}

fn held_by(lease: &Lease) -> StoreResult<held> {
    Ok(held(lease.job_id.to_string(), count_to_db(lease.attempt)?))
}

/// Extends a lease and reads whether cancellation was requested.
pub(crate) fn heartbeat(
    conn: &mut SqliteConnection,
    lease: &Lease,
    now: DateTime<Utc>,
    extend_by: std::time::Duration,
) -> StoreResult<Heartbeat> {
    let until = time::truncate(time::add(now, extend_by)?);
    let cancel_requested: Option<bool> = diesel::update(held_by(lease)?)
        .set((
            jobs::lease_expires_at.eq(time::to_millis(until)),
            jobs::updated_at.eq(time::to_millis(now)),
        ))
        .returning(jobs::cancel_requested)
        .get_result(conn)
        .optional()?;
    match cancel_requested {
        Some(cancel_requested) => Ok(Heartbeat {
            lease_expires_at: until,
            cancel_requested,
        }),
        None => Err(lease_error(conn, lease)),
    }
}

/// Records a running job's stage and percent.
pub(crate) fn progress(
    conn: &mut SqliteConnection,
    lease: &Lease,
    now: DateTime<Utc>,
    progress: &Progress,
) -> StoreResult<()> {
    progress.validate()?;
    let updated = diesel::update(held_by(lease)?)
        .set((
            jobs::stage.eq(&progress.stage),
            jobs::progress.eq(progress.percent),
            jobs::updated_at.eq(time::to_millis(now)),
        ))
        .execute(conn)?;
    ensure_held(conn, lease, updated)
}

/// Moves the job held by `lease` out of running into `status`, clearing
/// the lease; a terminal status also stamps `completed_at`.
fn leave_running(
    conn: &mut SqliteConnection,
    lease: &Lease,
    now: DateTime<Utc>,
    status: JobStatus,
) -> StoreResult<()> {
    let now = time::to_millis(now);
    let updated = diesel::update(held_by(lease)?)
        .set((
            jobs::status.eq(status.as_str()),
            jobs::locked_by.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<i64>),
            jobs::updated_at.eq(now),
            jobs::completed_at.eq(status.is_terminal().then_some(now)),
        ))
        .execute(conn)?;
    ensure_held(conn, lease, updated)
}

/// Finishes a running job with its result, in one guarded statement.
pub(crate) fn complete(
    conn: &mut SqliteConnection,
    lease: &Lease,
    now: DateTime<Utc>,
    result: &serde_json::Value,
) -> StoreResult<()> {
    let result = serde_json::to_string(result)
        .map_err(|e| StoreError::InvalidInput(format!("result is not valid JSON: {e}")))?;
    let now = time::to_millis(now);
    let updated = CompleteStatement {
        id: &lease.job_id.to_string(),
        attempt: count_to_db(lease.attempt)?,
        result: &result,
        now,
    }
    .execute(conn)?;
    ensure_held(conn, lease, updated)
}

/// Records a failed attempt and decides what follows.
pub(crate) fn fail(
    conn: &mut SqliteConnection,
    lease: &Lease,
    now: DateTime<Utc>,
    failure: &Failure,
) -> StoreResult<FailOutcome> {
    let state: Option<(i32, i32, bool, i64)> = held_by(lease)?
        .select((
            jobs::retry_count,
            jobs::max_attempts,
            jobs::cancel_requested,
            jobs::run_at,
        ))
        .first(conn)
        .optional()?;
    let Some((retry_count, max_attempts, cancel_requested, run_at)) = state else {
        return Err(lease_error(conn, lease));
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
    let retry_count = count_to_db(retry_count)?;
    let now = time::to_millis(now);
    let updated = diesel::update(held_by(lease)?)
        .set((
            jobs::status.eq(status.as_str()),
            jobs::error.eq(&failure.message),
            jobs::run_at.eq(run_at),
            jobs::retry_count.eq(retry_count),
            jobs::locked_by.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<i64>),
            jobs::updated_at.eq(now),
            jobs::completed_at.eq(status.is_terminal().then_some(now)),
        ))
        .execute(conn)?;
    ensure_held(conn, lease, updated)?;
    Ok(outcome)
}

/// Puts a running job back to pending without spending an attempt.
pub(crate) fn release(
    conn: &mut SqliteConnection,
    lease: &Lease,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    leave_running(conn, lease, now, JobStatus::Pending)
}

/// Ends a running job as cancelled.
pub(crate) fn mark_cancelled(
    conn: &mut SqliteConnection,
    lease: &Lease,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    leave_running(conn, lease, now, JobStatus::Cancelled)
}

/// Cancels a pending job, or asks the worker of a running one to stop.
pub(crate) fn cancel(
    conn: &mut SqliteConnection,
    id: JobId,
    now: DateTime<Utc>,
) -> StoreResult<CancelOutcome> {
    let now = time::to_millis(now);
    let key = id.to_string();
    let status: String = jobs::table
        .find(&key)
        .select(jobs::status)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound(id))?;
    match status_from_db(&status)? {
        JobStatus::Pending => {
            diesel::update(jobs::table.find(&key).filter(jobs::status.eq(PENDING)))
                .set((
                    jobs::status.eq(CANCELLED),
                    jobs::updated_at.eq(now),
                    jobs::completed_at.eq(now),
                ))
                .execute(conn)?;
            Ok(CancelOutcome::Cancelled)
        }
        JobStatus::Running => {
            diesel::update(jobs::table.find(&key).filter(jobs::status.eq(RUNNING)))
                .set((jobs::cancel_requested.eq(true), jobs::updated_at.eq(now)))
                .execute(conn)?;
            Ok(CancelOutcome::Requested)
        }
        finished => Ok(CancelOutcome::AlreadyFinished(finished)),
    }
}

/// `status = 'running'`, written into the SQL rather than bound: SQLite
/// uses a partial index (here the reaper's) only for a statement that
/// repeats the index's condition as written.
fn status_is_running() -> SqlLiteral<Bool> {
    diesel::dsl::sql("status = 'running'")
}

/// `status = 'pending'`, written into the SQL for the partial claim index
/// (see [`status_is_running`]).
fn status_is_pending() -> SqlLiteral<Bool> {
    diesel::dsl::sql("status = 'pending'")
}

/// Running jobs whose lease expired before `now` (on the reaper index).
fn expired(
    now: i64,
) -> Filter<Filter<jobs::table, SqlLiteral<Bool>>, Lt<jobs::lease_expires_at, i64>> {
    jobs::table
        .filter(status_is_running())
        .filter(jobs::lease_expires_at.lt(now))
}

/// Rescues running jobs whose lease expired: cancels those whose
/// cancellation was requested, requeues those with attempts left, and fails
/// the rest. Three guarded statements, in that order.
pub(crate) fn rescue_expired(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> StoreResult<RescueSummary> {
    let now = time::to_millis(now);
    let cancelled = diesel::update(expired(now).filter(jobs::cancel_requested.eq(true)))
        .set((
            jobs::status.eq(CANCELLED),
            jobs::locked_by.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<i64>),
            jobs::updated_at.eq(now),
            jobs::completed_at.eq(now),
        ))
        .execute(conn)?;
    let requeued =
        diesel::update(expired(now).filter((jobs::retry_count + 1).lt(jobs::max_attempts)))
            .set((
                jobs::status.eq(PENDING),
                jobs::retry_count.eq(jobs::retry_count + 1),
                jobs::error.eq(rules::RESCUE_REQUEUED_ERROR),
                jobs::locked_by.eq(None::<String>),
                jobs::lease_expires_at.eq(None::<i64>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?;
    let failed_types: Vec<String> = diesel::update(expired(now))
        .set((
            jobs::status.eq(FAILED),
            jobs::error.eq(rules::RESCUE_FAILED_ERROR),
            jobs::locked_by.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<i64>),
            jobs::updated_at.eq(now),
            jobs::completed_at.eq(now),
        ))
        .returning(jobs::job_type)
        .get_results(conn)?;
    Ok(RescueSummary {
        requeued: requeued as u64,
        failed: failed_types.len() as u64,
        cancelled: cancelled as u64,
        failed_by_type: rules::count_types(failed_types),
    })
}

/// How many pending jobs precede `id` in claim order.
pub(crate) fn queue_position(conn: &mut SqliteConnection, id: JobId) -> StoreResult<Option<u64>> {
    let key = id.to_string();
    let (status, run_at): (String, i64) = jobs::table
        .find(&key)
        .select((jobs::status, jobs::run_at))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound(id))?;
    if status_from_db(&status)? != JobStatus::Pending {
        return Ok(None);
    }
    let ahead: i64 = jobs::table
        .filter(status_is_pending())
        .filter(
            jobs::run_at
                .lt(run_at)
                .or(jobs::run_at.eq(run_at).and(jobs::id.lt(&key))),
        )
        .count()
        .get_result(conn)?;
    Ok(Some(u64::try_from(ahead).unwrap_or(0)))
}

/// Creates the job that retries `id`.
pub(crate) fn retry(
    conn: &mut SqliteConnection,
    id: JobId,
    now: DateTime<Utc>,
) -> StoreResult<Job> {
    let original = find(conn, id)?;
    let new = rules::retry_of(&original)?;
    let prepared = rules::prepare(&new, now, Some(id))?;
    insert(conn, std::slice::from_ref(&prepared))?;
    Ok(prepared.job)
}

#[cfg(test)]
mod tests {
    //! The claim and reaper statements must never scan the table: their
    //! plans are read with `EXPLAIN QUERY PLAN` on the exact SQL the store
    //! runs, captured through Diesel's instrumentation.

    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::sql_types::Text;
    use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl, SqliteConnection};

    use super::*;
    use crate::store::sqlite::migrate;

    #[derive(QueryableByName)]
    struct PlanRow {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// Runs `run` on a migrated database and returns the plan of every
    /// statement it executed.
    fn plans_of(run: impl FnOnce(&mut SqliteConnection)) -> Vec<(String, Vec<String>)> {
        let dir = tempfile::tempdir().unwrap();
        plans_of_on(&dir.path().join("plan.db"), run)
    }

    /// [`plans_of`] on the database at `path`.
    fn plans_of_on(
        path: &std::path::Path,
        run: impl FnOnce(&mut SqliteConnection),
    ) -> Vec<(String, Vec<String>)> {
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        migrate::run(&mut conn).unwrap();

        let captured = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&captured);
        let capture = move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                sink.lock().unwrap().push(query.to_string());
            }
        };
        conn.set_instrumentation(capture);
        run(&mut conn);
        conn.set_instrumentation(None::<Box<dyn Instrumentation>>);

        let statements = captured.lock().unwrap().clone();
        statements
            .into_iter()
            .map(|statement| {
                let sql = statement.split(" -- binds: ").next().unwrap().to_string();
                let plan = sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load::<PlanRow>(&mut conn)
                    .unwrap()
                    .into_iter()
                    .map(|row| row.detail)
                    .collect();
                (sql, plan)
            })
            .collect()
    }

    fn assert_searches_with(plans: &[(String, Vec<String>)], index: &str) {
        assert!(!plans.is_empty(), "no statement was captured");
        let mut used = false;
        for (sql, plan) in plans {
            for line in plan {
                assert!(
                    !line.starts_with("SCAN"),
                    "full scan in plan of {sql}: {plan:?}"
                );
                assert!(
                    !line.contains("TEMP B-TREE"),
                    "sort in plan of {sql}: {plan:?}"
                );
            }
            used |= plan.iter().any(|line| line.contains(index));
        }
        assert!(used, "no statement used {index}: {plans:?}");
    }

    #[test]
    fn claim_statement_searches_the_claim_index() {
        let now = chrono::Utc::now();
        let plans = plans_of(|conn| {
            claim(conn, &ClaimRequest::new("w", 10), now).unwrap();
            claim(conn, &ClaimRequest::new("w", 10).job_types(["a", "b"]), now).unwrap();
        });
        assert_eq!(plans.len(), 2);
        assert!(plans.iter().all(|(sql, _)| sql.starts_with("UPDATE")));
        assert_searches_with(&plans, "jobs_claim_idx");
    }

    #[test]
    fn reaper_statements_search_the_reaper_index() {
        let plans = plans_of(|conn| {
            rescue_expired(conn, chrono::Utc::now()).unwrap();
        });
        assert_eq!(plans.len(), 3, "cancel, requeue and fail statements");
        for (sql, plan) in &plans {
            assert!(
                plan.iter().any(|l| l.contains("jobs_reaper_idx")),
                "{sql}: {plan:?}"
            );
        }
        assert_searches_with(&plans, "jobs_reaper_idx");
    }

    #[test]
    fn queue_position_counts_on_the_claim_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("position.db");
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        migrate::run(&mut conn).unwrap();
        let prepared = rules::prepare(
            &crate::NewJob::new("email", serde_json::json!({})),
            chrono::Utc::now(),
            None,
        )
        .unwrap();
        insert(&mut conn, std::slice::from_ref(&prepared)).unwrap();
        drop(conn);

        let plans = plans_of_on(&path, |conn| {
            assert_eq!(queue_position(conn, prepared.job.id).unwrap(), Some(0));
        });
        let counts: Vec<_> = plans
            .into_iter()
            .filter(|(sql, _)| sql.contains("COUNT"))
            .collect();
        assert_eq!(counts.len(), 1, "{counts:?}");
        assert_searches_with(&counts, "jobs_claim_idx");
    }

    /// Whether some plan line of a statement says `expected`, with no sort.
    fn assert_plans_say(plans: &[(String, Vec<String>)], expected: &str) {
        assert!(!plans.is_empty(), "no statement was captured");
        for (sql, plan) in plans {
            assert!(
                plan.iter().any(|line| line.contains(expected)),
                "{sql}: {plan:?} lacks {expected:?}"
            );
            assert!(
                !plan.iter().any(|line| line.contains("TEMP B-TREE")),
                "sort in plan of {sql}: {plan:?}"
            );
        }
    }

    #[test]
    fn counting_by_type_reads_the_type_index_alone() {
        let plans = plans_of(|conn| {
            count_by_type(conn).unwrap();
        });
        assert_plans_say(&plans, "COVERING INDEX jobs_type_idx");
    }

    #[test]
    fn listing_a_correlation_id_searches_its_index() {
        let plans = plans_of(|conn| {
            list(conn, &ListQuery::default().correlation_id("cron:nightly")).unwrap();
        });
        assert_plans_say(&plans, "SEARCH jobs USING INDEX jobs_correlation_idx");
    }

    #[test]
    fn due_schedules_are_searched_on_the_due_index() {
        let plans = plans_of(|conn| {
            crate::store::sqlite::cron_queries::due(conn, chrono::Utc::now()).unwrap();
            crate::store::sqlite::cron_queries::next_tick(conn).unwrap();
        });
        assert_plans_say(&plans, "cron_jobs_due_idx");
    }
}
