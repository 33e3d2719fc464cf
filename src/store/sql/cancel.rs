//! Cancelling a job, and rescuing the jobs of workers that stopped
//! heartbeating.

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::job_row::status_from_db;
use super::value::Value;
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::job::{JobId, JobStatus};
use crate::store::{rules, CancelOutcome, RescueSummary};
use crate::time;

/// Cancels a pending job, or asks the worker of a running one to stop:
/// reads the status first (which decides the outcome), then two guarded
/// updates of which at most one applies.
pub(crate) fn cancel(id: JobId, now: DateTime<Utc>) -> Batch {
    let params = vec![
        Value::from(id.to_string()),
        Value::from(time::to_millis(now)),
    ];
    Batch::write(vec![
        Statement::query(
            "SELECT status FROM jobs WHERE id = ?1",
            vec![params[0].clone()],
        ),
        Statement::execute(
            "UPDATE jobs SET status = 'cancelled', updated_at = ?2, completed_at = ?2 \
             WHERE id = ?1 AND status = 'pending'",
            params.clone(),
        ),
        Statement::execute(
            "UPDATE jobs SET cancel_requested = 1, updated_at = ?2 \
             WHERE id = ?1 AND status = 'running'",
            params,
        ),
    ])
}

/// What [`cancel`] did.
pub(crate) fn cancelled(id: JobId, mut outputs: Outputs) -> StoreResult<CancelOutcome> {
    let rows = outputs.next_rows()?;
    let row = rows.first().ok_or(StoreError::NotFound(id))?;
    Ok(match status_from_db(&row.text(0)?)? {
        JobStatus::Pending => CancelOutcome::Cancelled,
        JobStatus::Running => CancelOutcome::Requested,
        finished => CancelOutcome::AlreadyFinished(finished),
    })
}

/// Running jobs whose lease expired before `?1` (on the reaper index).
const EXPIRED: &str = "status = 'running' AND lease_expires_at < ?1";

/// Rescues running jobs whose lease expired: records each lost attempt
/// (and `rescuer`, who ended it), then cancels those whose cancellation
/// was requested, requeues those with attempts left (the lost attempt
/// counts as a retry), and fails the rest. Four guarded statements, in
/// that order.
pub(crate) fn rescue(now: DateTime<Utc>, rescuer: Option<&str>) -> Batch {
    let now = Value::from(time::to_millis(now));
    Batch::write(vec![
        // First, each lost attempt's record, naming who rescued it.
        Statement::execute(
            format!(
                "INSERT INTO job_attempts (job_id, attempt, worker, started_at, finished_at, \
                 outcome, error, ended_by) SELECT id, attempt, locked_by, started_at, ?1, 'lost', \
                 ?2, ?3 FROM jobs WHERE {EXPIRED}"
            ),
            vec![
                now.clone(),
                rules::ATTEMPT_LOST_ERROR.into(),
                Value::from(rescuer.map(str::to_string)),
            ],
        ),
        Statement::execute(
            format!(
                "UPDATE jobs SET status = 'cancelled', locked_by = NULL, lease_expires_at = NULL, \
                 updated_at = ?1, completed_at = ?1 WHERE {EXPIRED} AND cancel_requested = 1"
            ),
            vec![now.clone()],
        ),
        Statement::execute(
            format!(
                "UPDATE jobs SET status = 'pending', retry_count = retry_count + 1, error = ?2, \
                 locked_by = NULL, lease_expires_at = NULL, updated_at = ?1, stage = NULL, \
                 progress = NULL WHERE {EXPIRED} AND retry_count + 1 < max_attempts"
            ),
            vec![now.clone(), rules::RESCUE_REQUEUED_ERROR.into()],
        ),
        Statement::query(
            format!(
                "UPDATE jobs SET status = 'failed', error = ?2, locked_by = NULL, \
                 lease_expires_at = NULL, updated_at = ?1, completed_at = ?1 WHERE {EXPIRED} \
                 RETURNING CAST(job_type AS BLOB)"
            ),
            vec![now, rules::RESCUE_FAILED_ERROR.into()],
        ),
    ])
}

/// What [`rescue`] did.
pub(crate) fn rescued(mut outputs: Outputs) -> StoreResult<RescueSummary> {
    outputs.next_changes()?;
    let cancelled = outputs.next_changes()?;
    let requeued = outputs.next_changes()?;
    let failed_types = outputs
        .next_rows()?
        .iter()
        .map(|row| row.text(0))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(RescueSummary {
        requeued,
        failed: failed_types.len() as u64,
        cancelled,
        failed_by_type: rules::count_types(failed_types),
    })
}

/// Whether any running job's lease expired before `now` (on the reaper
/// index, stopping at the first).
pub(crate) fn any_expired(now: DateTime<Utc>) -> Statement {
    Statement::query(
        format!("SELECT EXISTS (SELECT 1 FROM jobs WHERE {EXPIRED})"),
        vec![time::to_millis(now).into()],
    )
}

/// What an [`any_expired`] statement read.
pub(crate) fn read_any_expired(outputs: &mut Outputs) -> StoreResult<bool> {
    match outputs.next_rows()?.first() {
        Some(row) => row.flag(0),
        None => Ok(false),
    }
}
