//! Claims: the oldest claimable jobs, or one given job, moved to running.

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::job_row::{job_from_row, status_from_db, SELECTED};
use super::value::{Row, Value};
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, JobStatus, NewJob};
use crate::store::{ClaimRequest, Claimed, Lease};
use crate::time;

/// What a claim sets: running, for `?1`, until `?2`, at `?3`, the next
/// attempt, with no stage or percent of an earlier attempt.
const CLAIM_SET: &str = "SET status = 'running', attempt = attempt + 1, locked_by = ?1, \
     lease_expires_at = ?2, started_at = ?3, updated_at = ?3, stage = NULL, progress = NULL";

/// What a claim of a queue returns of each job: every column of
/// [`SELECTED`] but the eight the claim itself decides (the status, the
/// lease's worker, expiry and start, the time of the change, the cleared
/// stage and percent, and the queue claimed from), which [`claimed`] fills
/// in rather than reading back.
const RETURNED: &str = "id, CAST(job_type AS BLOB), params, result, CAST(error AS BLOB), \
     retry_count, max_attempts, attempt, run_at, cancel_requested, retry_of, \
     CAST(correlation_id AS BLOB), created_at, completed_at, priority, CAST(unique_key AS BLOB), \
     unique_scope, unique_for_ms";

/// How many columns [`RETURNED`] names.
const RETURNED_COUNT: usize = 18;

/// Every priority, highest first: a claim names them all in an `IN`
/// list, so that SQLite seeks the claim index once per priority, in order,
/// and reads only due jobs (never the scheduled ones of a higher priority).
const PRIORITIES: &str = "0, 1, 2, 3, 4, 5, 6, 7, 8, 9";

/// How many jobs queue `queue` (a parameter) may still give a claim of
/// `n`: none while paused; with a concurrency limit, no more than the
/// limit minus its running jobs, counted in the same statement.
///
/// Written with `CASE` rather than `max`/`min`: SQLite reckons that any
/// call of a (non-inline) SQL function may fail half-way, and a statement
/// that may fail half-way after writing several rows keeps a statement
/// journal, a copy of every page it changes, so that it can be undone on
/// its own (see [`CLAIM`]).
fn room(queue: &str, n: u32) -> String {
    format!(
        "coalesce((SELECT CASE WHEN q.paused THEN 0 WHEN q.concurrency_limit IS NULL THEN {n} \
         ELSE (SELECT CASE WHEN q.concurrency_limit - count(*) >= {n} THEN {n} \
         WHEN q.concurrency_limit - count(*) > 0 THEN q.concurrency_limit - count(*) ELSE 0 END \
         FROM jobs AS r WHERE r.status = 'running' AND r.queue = {queue}) END \
         FROM queues AS q WHERE q.name = {queue}), {n})"
    )
}

/// The head of a claim: `OR FAIL`, because a claim always runs in a
/// transaction of its own batch, which a failure rolls back whole. With
/// the default (`ABORT`) a constraint failure undoes just the statement,
/// which makes SQLite copy every page a multi-row claim changes into a
/// statement journal first (and spill it to a temporary file past 64 KiB)
/// only to throw it away at the commit.
const CLAIM: &str = "UPDATE OR FAIL jobs";

/// The claim of the claimable jobs (pending, due at `now`, of the
/// requested types) of each requested queue, up to the queue's limit and
/// room, by priority, then `run_at`, then id: per queue, one
/// `UPDATE ... WHERE rowid IN (SELECT rowid ... LIMIT room) RETURNING`
/// statement, which searches the partial claim index.
///
/// The limit is written into the SQL as a number: SQLite plans around a
/// bound `LIMIT` and compiles the statement again each time its value
/// changes, while an executor keeps one statement per claim size prepared.
pub(crate) fn claim(request: &ClaimRequest, now: DateTime<Utc>) -> StoreResult<Vec<Statement>> {
    let lease_until = time::add(now, request.lease_duration)?;
    let mut statements = Vec::with_capacity(request.queues.len());
    for queue in request.live_queues() {
        let mut params = vec![
            Value::from(request.worker_id.as_str()),
            Value::from(time::to_millis(lease_until)),
            Value::from(time::to_millis(now)),
            Value::from(queue.queue.as_str()),
        ];
        let claimable = claimable_where(request, "?3", "?4", &mut params);
        let room = room("?4", queue.limit);
        statements.push(Statement::query(
            format!(
                "{CLAIM} {CLAIM_SET} WHERE rowid IN (SELECT rowid FROM jobs \
                 WHERE {claimable} ORDER BY priority, run_at, id LIMIT {room}) \
                 RETURNING {RETURNED}"
            ),
            params,
        ));
    }
    Ok(statements)
}

/// The condition a job of one queue must meet to be claimed for `request`
/// at `now` (the parameters named `now` and `queue`), binding what it
/// needs after `params`.
fn claimable_where(
    request: &ClaimRequest,
    now: &str,
    queue: &str,
    params: &mut Vec<Value>,
) -> String {
    let type_filter = match &request.job_types {
        None => String::new(),
        Some(types) => {
            let first = params.len() + 1;
            params.extend(types.iter().map(|t| Value::from(t.as_str())));
            let placeholders: Vec<String> = (first..first + types.len())
                .map(|n| format!("?{n}"))
                .collect();
            format!(" AND job_type IN ({})", placeholders.join(", "))
        }
    };
    format!(
        "status = 'pending' AND queue = {queue} AND priority IN ({PRIORITIES}) \
         AND run_at <= {now}{type_filter}"
    )
}

/// Whether a claim for `request` would find a job at `now`: a read on the
/// claim index that stops at the first, per queue with room (no write
/// lock taken).
pub(crate) fn claimable(request: &ClaimRequest, now: DateTime<Utc>) -> Batch {
    let mut params = vec![Value::from(time::to_millis(now))];
    let mut any = Vec::new();
    for queue in request.live_queues() {
        params.push(Value::from(queue.queue.as_str()));
        let name = format!("?{}", params.len());
        let claimable = claimable_where(request, "?1", &name, &mut params);
        any.push(format!(
            "({} > 0 AND EXISTS (SELECT 1 FROM jobs WHERE {claimable}))",
            room(&name, 1)
        ));
    }
    if any.is_empty() {
        any.push("0".into());
    }
    Batch::read(vec![Statement::query(
        format!("SELECT {}", any.join(" OR ")),
        params,
    )])
}

/// What a [`claimable`] statement read.
pub(crate) fn read_claimable(outputs: &mut Outputs) -> StoreResult<bool> {
    match outputs.next_rows()?.first() {
        Some(row) => row.flag(0),
        None => Ok(false),
    }
}

/// When the earliest pending job of `request`'s queues that are not paused
/// (and that the request has room in) becomes claimable: per queue and priority, the first entry of the
/// claim index.
pub(crate) fn next_due(request: &ClaimRequest) -> Statement {
    let mut params = Vec::new();
    let mut firsts = Vec::new();
    for queue in request.live_queues() {
        params.push(Value::from(queue.queue.as_str()));
        let name = format!("?{}", params.len());
        for priority in 0..=NewJob::LOWEST_PRIORITY {
            firsts.push(format!(
                "SELECT (SELECT run_at FROM jobs WHERE status = 'pending' AND queue = {name} \
                 AND priority = {priority} ORDER BY run_at LIMIT 1) AS at \
                 WHERE NOT EXISTS (SELECT 1 FROM queues WHERE name = {name} AND paused)"
            ));
        }
    }
    if firsts.is_empty() {
        return Statement::query("SELECT NULL", Vec::new());
    }
    Statement::query(
        format!("SELECT min(at) FROM ({})", firsts.join(" UNION ALL ")),
        params,
    )
}

/// A claimed row, with the lease its new attempt holds.
fn claimed_from(job: Job) -> Claimed {
    Claimed {
        lease: Lease {
            job_id: job.id,
            attempt: job.attempt,
        },
        job,
    }
}

/// The jobs the [`claim`] statements of `request` made at `now` returned,
/// queue by queue, each in claim order (`RETURNING` yields rows in no
/// particular order).
pub(crate) fn claimed(
    request: &ClaimRequest,
    now: DateTime<Utc>,
    outputs: &mut Outputs,
) -> StoreResult<Vec<Claimed>> {
    let lease_until = time::to_millis(time::add(now, request.lease_duration)?);
    let now = time::to_millis(now);
    let mut all = Vec::new();
    for queue in request.live_queues() {
        let decided = Decided {
            worker_id: &request.worker_id,
            lease_until,
            now,
            queue: &queue.queue,
        };
        let mut claimed = outputs
            .next_rows()?
            .into_iter()
            .map(|row| job_from_row(decided.complete(row)?).map(claimed_from))
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|c| (c.job.priority, c.job.run_at, c.job.id));
        all.extend(claimed);
    }
    Ok(all)
}

/// What a claim of one queue decided for every job it claimed.
struct Decided<'a> {
    worker_id: &'a str,
    /// When the lease expires, in milliseconds.
    lease_until: i64,
    /// When the claim ran, in milliseconds.
    now: i64,
    queue: &'a str,
}

impl Decided<'_> {
    /// A row of [`RETURNED`] as the whole row ([`SELECTED`]) it stands
    /// for, with what the claim decided in its place.
    fn complete(&self, row: Row) -> StoreResult<Row> {
        if row.0.len() != RETURNED_COUNT {
            return Err(StoreError::database(format!(
                "a claim returned {} columns, not {RETURNED_COUNT}",
                row.0.len()
            )));
        }
        let mut returned = row.0.into_iter();
        let mut next = || returned.next().unwrap_or(Value::Null);
        Ok(Row(vec![
            next(), // id
            next(), // job_type
            Value::from(JobStatus::Running.as_str()),
            Value::Null, // stage
            Value::Null, // progress
            next(),      // params
            next(),      // result
            next(),      // error
            next(),      // retry_count
            next(),      // max_attempts
            next(),      // attempt
            next(),      // run_at
            Value::from(self.worker_id),
            Value::from(self.lease_until),
            next(),                // cancel_requested
            next(),                // retry_of
            next(),                // correlation_id
            next(),                // created_at
            Value::from(self.now), // updated_at
            Value::from(self.now), // started_at
            next(),                // completed_at
            Value::from(self.queue),
            next(), // priority
            next(), // unique_key
            next(), // unique_scope
            next(), // unique_for_ms
        ]))
    }
}

/// Claims the pending job `id` for `worker_id`, wherever it stands in the
/// queue: its status first (which says why a claim found nothing), then
/// the claim.
pub(crate) fn claim_job(
    id: JobId,
    worker_id: &str,
    lease_duration: std::time::Duration,
    now: DateTime<Utc>,
) -> StoreResult<Batch> {
    let lease_until = time::add(now, lease_duration)?;
    let key = Value::from(id.to_string());
    Ok(Batch::write(vec![
        Statement::query("SELECT status FROM jobs WHERE id = ?1", vec![key.clone()]),
        Statement::query(
            format!(
                "{CLAIM} {CLAIM_SET} WHERE id = ?4 AND status = 'pending' RETURNING {SELECTED}"
            ),
            vec![
                Value::from(worker_id),
                Value::from(time::to_millis(lease_until)),
                Value::from(time::to_millis(now)),
                key,
            ],
        ),
    ]))
}

/// The job [`claim_job`] claimed, or why it was not.
pub(crate) fn claimed_job(id: JobId, mut outputs: Outputs) -> StoreResult<Claimed> {
    let status = outputs.next_rows()?;
    let claimed = outputs.next_rows()?;
    if let Some(row) = claimed.into_iter().next() {
        return job_from_row(row).map(claimed_from);
    }
    match status.first() {
        None => Err(StoreError::NotFound(id)),
        Some(row) => Err(StoreError::InvalidTransition {
            id,
            action: "claim",
            status: status_from_db(&row.text(0)?)?,
        }),
    }
}
