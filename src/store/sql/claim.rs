//! Claims: the oldest claimable jobs, or one given job, moved to running.

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::job_row::{job_from_row, status_from_db, SELECTED};
use super::value::Value;
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId};
use crate::store::{ClaimRequest, Claimed, Lease};
use crate::time;

/// What a claim sets: running, for `?1`, until `?2`, at `?3`, the next
/// attempt, with no stage or percent of an earlier attempt.
const CLAIM_SET: &str = "SET status = 'running', attempt = attempt + 1, locked_by = ?1, \
     lease_expires_at = ?2, started_at = ?3, updated_at = ?3, stage = NULL, progress = NULL";

/// The claim of up to `request.limit` claimable jobs (pending, due at
/// `now`, of the requested types), oldest `run_at` first, then oldest id:
/// one `UPDATE ... WHERE rowid IN (SELECT rowid ... LIMIT n) RETURNING`
/// statement, which searches the partial claim index.
///
/// The limit is written into the SQL as a number: SQLite plans around a
/// bound `LIMIT` and compiles the statement again each time its value
/// changes, while an executor keeps one statement per claim size prepared.
pub(crate) fn claim(request: &ClaimRequest, now: DateTime<Utc>) -> StoreResult<Statement> {
    let lease_until = time::add(now, request.lease_duration)?;
    let mut params = vec![
        Value::from(request.worker_id.as_str()),
        Value::from(time::to_millis(lease_until)),
        Value::from(time::to_millis(now)),
    ];
    let claimable = claimable_where(request, "?3", &mut params);
    let limit = request.limit;
    Ok(Statement::query(
        format!(
            "UPDATE jobs {CLAIM_SET} WHERE rowid IN (SELECT rowid FROM jobs \
             WHERE {claimable} ORDER BY run_at, id LIMIT {limit}) RETURNING {SELECTED}"
        ),
        params,
    ))
}

/// The condition a job must meet to be claimed for `request` at `now`
/// (the parameter named `now`), binding what it needs after `params`.
fn claimable_where(request: &ClaimRequest, now: &str, params: &mut Vec<Value>) -> String {
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
    format!("status = 'pending' AND run_at <= {now}{type_filter}")
}

/// Whether a claim for `request` would find a job at `now`: a read on the
/// claim index that stops at the first (no write lock taken).
pub(crate) fn claimable(request: &ClaimRequest, now: DateTime<Utc>) -> Batch {
    let mut params = vec![Value::from(time::to_millis(now))];
    let claimable = claimable_where(request, "?1", &mut params);
    Batch::read(vec![Statement::query(
        format!("SELECT EXISTS (SELECT 1 FROM jobs WHERE {claimable})"),
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

/// The jobs a [`claim`] statement returned, in claim order (`RETURNING`
/// yields rows in no particular order).
pub(crate) fn claimed(outputs: &mut Outputs) -> StoreResult<Vec<Claimed>> {
    let mut claimed = outputs
        .next_rows()?
        .iter()
        .map(|row| job_from_row(row).map(claimed_from))
        .collect::<StoreResult<Vec<_>>>()?;
    claimed.sort_by_key(|c| (c.job.run_at, c.job.id));
    Ok(claimed)
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
                "UPDATE jobs {CLAIM_SET} WHERE id = ?4 AND status = 'pending' RETURNING {SELECTED}"
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
    if let Some(row) = claimed.first() {
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
