//! A worker's writes to the jobs it holds: heartbeats, progress, the
//! outcome of an attempt. Each is one `UPDATE` guarded by the lease (the
//! job's id, running, at the lease's attempt), so a write through a lost
//! lease changes nothing; [`lease_states`] then tells why.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::batch::{Batch, Fixed, Statement};
use super::job_row::{id_from_db, status_from_db};
use super::value::Value;
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::job::{JobId, JobStatus, Progress};
use crate::store::{rules, FailOutcome, Failure, FailureKind, Heartbeat, Lease};
use crate::time;

/// The guard of every worker write: `?1` is the id, `?2` the attempt.
const HELD: &str = "id = ?1 AND status = 'running' AND attempt = ?2";

fn lease_params(lease: &Lease) -> Vec<Value> {
    vec![lease.job_id.to_string().into(), lease.attempt.into()]
}

/// When a lease extended at `now` by `extend_by` runs out.
pub(crate) fn extended_until(
    now: DateTime<Utc>,
    extend_by: Duration,
) -> StoreResult<DateTime<Utc>> {
    Ok(time::truncate(time::add(now, extend_by)?))
}

/// Extends the lease of every job in `leases` still held to `until`, in
/// one statement (a key lookup per job), returning the id, attempt and
/// cancellation request of each job it extended.
pub(crate) fn heartbeat(leases: &[Lease], now: DateTime<Utc>, until: DateTime<Utc>) -> Statement {
    let mut params = vec![
        Value::from(time::to_millis(until)),
        Value::from(time::to_millis(now)),
    ];
    let mut ids = Vec::with_capacity(leases.len());
    let mut attempts = String::new();
    for lease in leases {
        params.push(lease.job_id.to_string().into());
        let id = params.len();
        params.push(lease.attempt.into());
        ids.push(format!("?{id}"));
        attempts.push_str(&format!(" WHEN ?{id} THEN ?{}", id + 1));
    }
    Statement::query(
        format!(
            "UPDATE jobs SET lease_expires_at = ?1, updated_at = ?2 WHERE id IN ({}) \
             AND status = 'running' AND attempt = CASE id{attempts} END \
             RETURNING id, attempt, cancel_requested",
            ids.join(", ")
        ),
        params,
    )
}

/// The heartbeat of each lease, in order: extended (with whether
/// cancellation was requested), or `None` when the lease no longer holds
/// its job.
pub(crate) fn heartbeats(
    leases: &[Lease],
    until: DateTime<Utc>,
    outputs: &mut Outputs,
) -> StoreResult<Vec<Option<Heartbeat>>> {
    let mut extended = BTreeMap::new();
    for row in outputs.next_rows()? {
        extended.insert((id_from_db(&row.text(0)?)?, row.count(1)?), row.flag(2)?);
    }
    Ok(leases
        .iter()
        .map(|lease| {
            extended
                .get(&(lease.job_id, lease.attempt))
                .map(|&cancel_requested| Heartbeat {
                    lease_expires_at: until,
                    cancel_requested,
                })
        })
        .collect())
}

/// Which of `leases` still hold a job whose cancellation was requested.
pub(crate) fn cancel_requested(leases: &[Lease]) -> Batch {
    let mut params = Vec::with_capacity(leases.len());
    for lease in leases {
        params.push(Value::from(lease.job_id.to_string()));
    }
    let placeholders: Vec<String> = (1..=leases.len()).map(|n| format!("?{n}")).collect();
    Batch::read(vec![Statement::query(
        format!(
            "SELECT id, attempt FROM jobs WHERE id IN ({}) AND status = 'running' \
             AND cancel_requested = 1",
            placeholders.join(", ")
        ),
        params,
    )])
}

/// The leases [`cancel_requested`] found asked to stop: each once, in the
/// order of `leases`.
pub(crate) fn cancels_requested(leases: &[Lease], mut outputs: Outputs) -> StoreResult<Vec<Lease>> {
    let mut found = std::collections::HashSet::new();
    for row in outputs.next_rows()? {
        found.insert(Lease {
            job_id: id_from_db(&row.text(0)?)?,
            attempt: row.count(1)?,
        });
    }
    Ok(leases
        .iter()
        .filter(|lease| found.remove(lease))
        .copied()
        .collect())
}

/// Records the stage and percent a running job reports.
pub(crate) fn progress(lease: &Lease, now: DateTime<Utc>, progress: &Progress) -> Statement {
    let mut params = lease_params(lease);
    params.extend([
        Value::from(progress.stage.as_str()),
        Value::from(progress.percent.map(f64::from)),
        Value::from(time::to_millis(now)),
    ]);
    Statement::execute(
        format!("UPDATE jobs SET stage = ?3, progress = ?4, updated_at = ?5 WHERE {HELD}"),
        params,
    )
}

/// What a completion writes: `?3` the result (JSON text), `?4` the time;
/// guarded by the lease ([`HELD`]).
///
/// On a local file, one statement per job, the same text for every job,
/// found by its key: a single-row `UPDATE` needs no temporary tables and
/// no statement journal. One `UPDATE` of many rows ([`complete_all`], the
/// form for a server) costs SQLite three temporary b-trees (among them the `IN`
/// list and the returned rows), each set up and torn
/// down per run, and a copy of every page it changes (`CHECK
/// (json_valid(result))` calls a function, which SQLite reckons may fail
/// half-way); a profile of a busy worker put more than a tenth of its
/// instructions into such temporary b-trees.
const COMPLETE: &str = "UPDATE OR FAIL jobs SET status = 'completed', result = ?3, \
     lease_expires_at = NULL, updated_at = ?4, completed_at = ?4 \
     WHERE id = ?1 AND status = 'running' AND attempt = ?2";

/// Finishes the running job held by `lease` with `result` (JSON text) at
/// `now`; it changes one row when the lease still holds the job, none
/// otherwise (read with [`completed`]). `OR FAIL`: it runs in a write
/// batch, which a failure rolls back whole.
pub(crate) fn complete(lease: &Lease, result: String, now: DateTime<Utc>) -> Statement {
    let params = vec![
        Value::Text(lease.job_id.to_string()),
        Value::from(lease.attempt),
        Value::Text(result),
        Value::from(time::to_millis(now)),
    ];
    Statement::execute(COMPLETE, params).fixed(Fixed::Complete)
}

/// Whether a [`complete`] statement completed its job.
pub(crate) fn completed(outputs: &mut Outputs) -> StoreResult<bool> {
    Ok(outputs.next_changes()? == 1)
}

/// Finishes many running jobs in one statement, the `i`-th of `leases`
/// with the `i`-th of `results` (JSON text), each guarded by its lease:
/// the form for a server, which parses every statement of a request
/// again, so that one statement costs less than one per job. Each job is
/// found by its key (`id IN (...)`), its attempt and result picked by a
/// `CASE` on its id; returns the id and attempt of every job completed.
pub(crate) fn complete_all(
    leases: &[Lease],
    results: Vec<String>,
    now: DateTime<Utc>,
) -> Statement {
    let mut params = Vec::with_capacity(leases.len() * 3 + 1);
    params.push(Value::from(time::to_millis(now)));
    let mut ids = Vec::with_capacity(leases.len());
    let mut attempts = String::new();
    let mut picks = String::new();
    for (lease, result) in leases.iter().zip(results) {
        params.push(lease.job_id.to_string().into());
        let id = params.len();
        params.push(lease.attempt.into());
        params.push(Value::Text(result));
        ids.push(format!("?{id}"));
        attempts.push_str(&format!(" WHEN ?{id} THEN ?{}", id + 1));
        picks.push_str(&format!(" WHEN ?{id} THEN ?{}", id + 2));
    }
    Statement::query(
        format!(
            "UPDATE OR FAIL jobs SET status = 'completed', result = CASE id{picks} END, \
             lease_expires_at = NULL, updated_at = ?1, completed_at = ?1 \
             WHERE id IN ({}) AND status = 'running' AND attempt = CASE id{attempts} END \
             RETURNING id, attempt",
            ids.join(", ")
        ),
        params,
    )
}

/// The leases a [`complete_all`] statement completed.
pub(crate) fn completed_all(outputs: &mut Outputs) -> StoreResult<Vec<Lease>> {
    outputs
        .next_rows()?
        .iter()
        .map(|row| {
            Ok(Lease {
                job_id: id_from_db(&row.text(0)?)?,
                attempt: row.count(1)?,
            })
        })
        .collect()
}

/// Moves the job held by `lease` out of running into `status` (pending on
/// release, cancelled once its worker stopped it), clearing the lease; a
/// terminal status also stamps `completed_at`, and back to pending clears
/// the stage and percent of the attempt that stopped (a waiting job is
/// doing nothing).
pub(crate) fn leave_running(
    lease: &Lease,
    now: DateTime<Utc>,
    status: JobStatus,
) -> Vec<Statement> {
    let now = time::to_millis(now);
    let mut params = lease_params(lease);
    params.extend([
        Value::from(status.as_str()),
        Value::from(now),
        Value::from(status.is_terminal().then_some(now)),
    ]);
    // Every parameter the record binds it uses (a server refuses others).
    vec![
        record_attempt(
            "CASE ?3 WHEN 'pending' THEN 'released' ELSE ?3 END",
            "?4",
            "NULL",
            params[..4].to_vec(),
        ),
        Statement::execute(
            format!(
                "UPDATE jobs SET status = ?3, locked_by = NULL, lease_expires_at = NULL, \
                 updated_at = ?4, completed_at = ?5, \
                 stage = CASE WHEN ?3 = 'pending' THEN NULL ELSE stage END, \
                 progress = CASE WHEN ?3 = 'pending' THEN NULL ELSE progress END WHERE {HELD}"
            ),
            params,
        ),
    ]
}

/// Records the attempt `?1`/`?2` holds (while it still does) as ended at
/// `finished` with `outcome` and `error` (SQL expressions over the job's
/// row as it is before the write that follows). Changes one row when the
/// lease holds, none otherwise: it tells, as the write itself would,
/// whether the lease held.
fn record_attempt(outcome: &str, finished: &str, error: &str, params: Vec<Value>) -> Statement {
    Statement::execute(
        format!(
            "INSERT INTO job_attempts (job_id, attempt, worker, started_at, finished_at, \
             outcome, error) SELECT id, attempt, locked_by, started_at, {finished}, {outcome}, \
             {error} FROM jobs WHERE {HELD}"
        ),
        params,
    )
}

/// Records a failed attempt, deciding in the statement what follows, as
/// [`rules::after_failure`] does: cancelled when cancellation was
/// requested; back to pending at `now + delay` for a transient failure
/// while attempts remain (counting the retry); failed otherwise. Returns
/// the status, `run_at` and retry count it stored.
pub(crate) fn fail(lease: &Lease, now: DateTime<Utc>, failure: &Failure) -> Vec<Statement> {
    let (permanent, delay) = match failure.kind {
        FailureKind::Permanent => (true, Duration::ZERO),
        FailureKind::Transient { delay } => (false, delay),
    };
    // A delay past the end of time retries never in practice.
    let retry_at = time::add(now, delay)
        .map(time::truncate)
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC);
    let now = time::to_millis(now);
    let mut params = lease_params(lease);
    params.extend([
        Value::from(permanent),
        Value::from(failure.message.as_str()),
        Value::from(time::to_millis(retry_at)),
        Value::from(now),
    ]);
    // Every expression of a SET reads the row as it was.
    const RETRY: &str = "(cancel_requested = 0 AND ?3 = 0 AND retry_count + 1 < max_attempts)";
    let record = record_attempt(
        &format!(
            "CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN {RETRY} THEN 'retried' \
             ELSE 'failed' END"
        ),
        "?6",
        "?4",
        params.clone(),
    );
    let update = Statement::query(
        format!(
            "UPDATE jobs SET status = CASE WHEN cancel_requested = 1 THEN 'cancelled' \
             WHEN {RETRY} THEN 'pending' ELSE 'failed' END, error = ?4, \
             run_at = CASE WHEN {RETRY} THEN ?5 ELSE run_at END, \
             retry_count = CASE WHEN {RETRY} THEN retry_count + 1 ELSE retry_count END, \
             locked_by = NULL, lease_expires_at = NULL, updated_at = ?6, \
             completed_at = CASE WHEN {RETRY} THEN NULL ELSE ?6 END, \
             stage = CASE WHEN {RETRY} THEN NULL ELSE stage END, \
             progress = CASE WHEN {RETRY} THEN NULL ELSE progress END \
             WHERE {HELD} RETURNING status, run_at, retry_count"
        ),
        params,
    );
    vec![record, update]
}

/// What a [`fail`] statement stored, or `None` when the lease no longer
/// held the job.
pub(crate) fn failed(outputs: &mut Outputs) -> StoreResult<Option<FailOutcome>> {
    // The attempt's record, then the job.
    outputs.next_changes()?;
    let rows = outputs.next_rows()?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(match status_from_db(&row.text(0)?)? {
        JobStatus::Pending => FailOutcome::Retrying {
            run_at: time::from_millis(row.int(1)?)?,
            retry_count: row.count(2)?,
        },
        JobStatus::Cancelled => FailOutcome::Cancelled,
        _ => FailOutcome::Failed,
    }))
}

/// The status and attempt of each job of `ids`: why a guarded write
/// through a lease found nothing to change.
pub(crate) fn lease_states(ids: &[JobId]) -> Batch {
    Batch::read(vec![lease_state(ids)])
}

/// The statement of [`lease_states`], to run inside another batch (right
/// after the writes whose refusals it explains).
pub(crate) fn lease_state(ids: &[JobId]) -> Statement {
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("?{n}")).collect();
    Statement::query(
        format!(
            "SELECT id, status, attempt FROM jobs WHERE id IN ({})",
            placeholders.join(", ")
        ),
        ids.iter().map(|id| id.to_string().into()).collect(),
    )
}

/// The error of each lease in `leases` that [`lease_states`] read:
/// the lease was lost (with the job's status and attempt now), or the job
/// is gone.
pub(crate) fn lease_errors(leases: &[Lease], mut outputs: Outputs) -> StoreResult<Vec<StoreError>> {
    read_lease_errors(leases, &mut outputs)
}

/// What a [`lease_state`] statement read, as the error of each lease.
pub(crate) fn read_lease_errors(
    leases: &[Lease],
    outputs: &mut Outputs,
) -> StoreResult<Vec<StoreError>> {
    let mut states = BTreeMap::new();
    for row in outputs.next_rows()? {
        states.insert(
            id_from_db(&row.text(0)?)?,
            (status_from_db(&row.text(1)?)?, row.count(2)?),
        );
    }
    Ok(leases
        .iter()
        .map(|lease| match states.get(&lease.job_id) {
            Some(&(status, attempt)) => {
                rules::lease_lost(lease.job_id, lease.attempt, status, attempt)
            }
            None => StoreError::NotFound(lease.job_id),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_is_named_and_its_sql_never_changes() {
        let first = complete(
            &Lease {
                job_id: JobId::new_at(Utc::now()),
                attempt: 1,
            },
            "null".into(),
            Utc::now(),
        );
        let second = complete(
            &Lease {
                job_id: JobId::new_at(Utc::now()),
                attempt: 7,
            },
            "{\"a\":[1,2]}".into(),
            Utc::now() + chrono::Duration::days(400),
        );
        assert_eq!(first.fixed, Some(Fixed::Complete));
        assert_eq!(second.fixed, Some(Fixed::Complete));
        assert_eq!(first.sql, second.sql, "found prepared by its name alone");
        assert_ne!(first.params, second.params);
    }
}
