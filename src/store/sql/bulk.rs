//! Actions on every job a filter matches, and pruning finished jobs: each
//! one statement per change, however many jobs it touches.

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::create::retry_values;
use super::job_row::{status_is, COLUMNS};
use super::value::Value;
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::store::{BulkAction, BulkOutcome, JobFilter};
use crate::time;

/// A finished job (completed, failed or cancelled).
const FINISHED: &str = "status <> 'pending' AND status <> 'running'";

/// A job retry applies to: failed or cancelled, and not retried yet (on
/// the `retry_of` index). The row being read is `o`.
const RETRYABLE: &str = "(status = 'failed' OR status = 'cancelled') AND NOT EXISTS \
     (SELECT 1 FROM jobs AS r WHERE r.retry_of = o.id)";

/// A new job id made by the database at `?1` (milliseconds): a version 7
/// UUID like the ones [`JobId`](crate::JobId) makes, its time the
/// statement's and the rest random, so that jobs created by one statement
/// sort with the others by creation time.
const NEW_ID: &str = "lower(substr(printf('%012x', ?1), 1, 8) || '-' || \
     substr(printf('%012x', ?1), 9, 4) || '-7' || substr(hex(randomblob(2)), 2, 3) || '-' || \
     substr('89AB', 1 + (random() & 3), 1) || substr(hex(randomblob(2)), 2, 3) || '-' || \
     hex(randomblob(6)))";

/// `filter` as SQL conditions joined by `AND` (`1` when empty), binding its
/// values from `?{first}` on.
fn conditions(filter: &JobFilter, first: usize) -> (String, Vec<Value>) {
    let mut parts = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let bind = |sql: &str, value: Value, params: &mut Vec<Value>| {
        params.push(value);
        format!("{sql} ?{}", first + params.len() - 1)
    };
    if !filter.statuses.is_empty() {
        // Literal, so that each one can be searched on its index.
        let any: Vec<String> = filter.statuses.iter().copied().map(status_is).collect();
        parts.push(format!("({})", any.join(" OR ")));
    }
    if let Some(id) = filter.id {
        parts.push(bind("id =", id.to_string().into(), &mut params));
    }
    if let Some(job_type) = &filter.job_type {
        parts.push(bind("job_type =", job_type.as_str().into(), &mut params));
    }
    if let Some(queue) = &filter.queue {
        parts.push(bind("queue =", queue.as_str().into(), &mut params));
    }
    if let Some(correlation_id) = &filter.correlation_id {
        parts.push(bind(
            "correlation_id =",
            correlation_id.as_str().into(),
            &mut params,
        ));
    }
    if let Some(at) = filter.created_before {
        parts.push(bind(
            "created_at <",
            time::to_millis(at).into(),
            &mut params,
        ));
    }
    if let Some(at) = filter.finished_before {
        parts.push(format!(
            "{FINISHED} AND {}",
            bind("completed_at <", time::to_millis(at).into(), &mut params)
        ));
    }
    if parts.is_empty() {
        ("1".to_string(), params)
    } else {
        (parts.join(" AND "), params)
    }
}

/// Which matched jobs `action` changes (`applied`), and which it asks to
/// stop (`requested`), as conditions on the row `o`.
fn applies(action: BulkAction) -> (&'static str, &'static str) {
    match action {
        BulkAction::Retry => (RETRYABLE, "0"),
        BulkAction::Cancel => (
            "status = 'pending'",
            "status = 'running' AND cancel_requested = 0",
        ),
        BulkAction::Delete => ("status <> 'running'", "0"),
    }
}

/// Counts what `action` would do to the jobs `filter` matches: matched,
/// applied, requested, in one row.
fn count(action: BulkAction, filter: &JobFilter) -> Statement {
    let (applied, requested) = applies(action);
    let (matching, params) = conditions(filter, 1);
    Statement::query(
        format!(
            "SELECT count(*), coalesce(sum(CASE WHEN {applied} THEN 1 ELSE 0 END), 0), \
             coalesce(sum(CASE WHEN {requested} THEN 1 ELSE 0 END), 0) \
             FROM jobs AS o WHERE {matching}"
        ),
        params,
    )
}

/// What `action` would do now to the jobs `filter` matches (which must be
/// valid), changing nothing.
pub(crate) fn preview(action: BulkAction, filter: &JobFilter) -> Batch {
    Batch::read(vec![count(action, filter)])
}

/// What a [`preview`] read.
pub(crate) fn previewed(action: BulkAction, mut outputs: Outputs) -> StoreResult<BulkOutcome> {
    let (matched, applied, requested) = counts(&mut outputs)?;
    Ok(BulkOutcome::new(action, true, matched, applied, requested))
}

/// Applies `action` to every job `filter` (which must be valid) matches, at
/// `now`: the count of what matched, then one statement per change.
pub(crate) fn apply(action: BulkAction, filter: &JobFilter, now: DateTime<Utc>) -> Batch {
    let now = Value::from(time::to_millis(now));
    let (matching, filter_params) = conditions(filter, 2);
    let mut params = vec![now];
    params.extend(filter_params);
    let mut statements = vec![count(action, filter)];
    match action {
        BulkAction::Retry => statements.push(Statement::execute(
            format!(
                "INSERT INTO jobs ({COLUMNS}) SELECT {} FROM jobs AS o \
                 WHERE {matching} AND {RETRYABLE} ORDER BY id",
                retry_values(NEW_ID, "?1")
            ),
            params,
        )),
        BulkAction::Cancel => {
            statements.push(Statement::execute(
                format!(
                    "UPDATE jobs SET status = 'cancelled', updated_at = ?1, completed_at = ?1 \
                     WHERE {matching} AND status = 'pending'"
                ),
                params.clone(),
            ));
            statements.push(Statement::execute(
                format!(
                    "UPDATE jobs SET cancel_requested = 1, updated_at = ?1 \
                     WHERE {matching} AND status = 'running' AND cancel_requested = 0"
                ),
                params,
            ));
        }
        BulkAction::Delete => {
            let (matching, params) = conditions(filter, 1);
            let doomed = format!("{matching} AND status <> 'running'");
            statements.push(Statement::execute(
                format!(
                    "DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE {doomed})"
                ),
                params.clone(),
            ));
            statements.push(Statement::execute(
                format!("DELETE FROM jobs WHERE {doomed}"),
                params,
            ));
        }
    }
    Batch::write(statements)
}

/// What an [`apply`] did.
pub(crate) fn applied(action: BulkAction, mut outputs: Outputs) -> StoreResult<BulkOutcome> {
    let (matched, _, _) = counts(&mut outputs)?;
    if action == BulkAction::Delete {
        // The deleted jobs' attempts.
        outputs.next_changes()?;
    }
    let applied = outputs.next_changes()?;
    let requested = if action == BulkAction::Cancel {
        outputs.next_changes()?
    } else {
        0
    };
    Ok(BulkOutcome::new(action, false, matched, applied, requested))
}

fn counts(outputs: &mut Outputs) -> StoreResult<(u64, u64, u64)> {
    let rows = outputs.next_rows()?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::database("a count returned no row"))?;
    let count = |at: usize| -> StoreResult<u64> {
        u64::try_from(row.int(at)?).map_err(|_| StoreError::database("a count was negative"))
    };
    Ok((count(0)?, count(1)?, count(2)?))
}

/// Deletes up to `limit` finished jobs `filter` (which must set
/// `finished_before`) matches, in table order (about oldest first): a
/// walk of the table itself, which holds old jobs first and needs no
/// index that every completion would have to write. The last batch of a
/// sweep reads the rest of the table once.
pub(crate) fn prune(filter: &JobFilter, limit: u32) -> StoreResult<Batch> {
    if filter.finished_before.is_none() {
        return Err(StoreError::InvalidInput(
            "a prune needs the time finished jobs must be older than".into(),
        ));
    }
    let (matching, params) = conditions(filter, 1);
    // Both statements pick the same jobs: the same first rows in the same
    // order, in one transaction.
    let doomed = format!("SELECT rowid FROM jobs WHERE {matching} ORDER BY rowid LIMIT {limit}");
    Ok(Batch::write(vec![
        Statement::execute(
            format!(
                "DELETE FROM job_attempts WHERE job_id IN \
                 (SELECT id FROM jobs WHERE rowid IN ({doomed}))"
            ),
            params.clone(),
        ),
        Statement::execute(
            format!("DELETE FROM jobs WHERE rowid IN ({doomed})"),
            params,
        ),
    ]))
}

/// How many jobs a [`prune`] deleted.
pub(crate) fn pruned(mut outputs: Outputs) -> StoreResult<u64> {
    outputs.next_changes()?;
    outputs.next_changes()
}

/// Gives every free page of the file back to the file system (a file
/// whose `auto_vacuum` is `INCREMENTAL`; elsewhere it does nothing). Run
/// as a query, so every step of it runs.
pub(crate) fn incremental_vacuum() -> Statement {
    Statement::query("PRAGMA incremental_vacuum", Vec::new())
}

/// Rewrites the whole file without its free pages, first asking (on the
/// same connection) for `auto_vacuum = INCREMENTAL`, which the rewrite
/// takes: a file made by an older release is set up for
/// [`incremental_vacuum`] from then on.
pub(crate) fn full_vacuum() -> Vec<Statement> {
    vec![
        Statement::execute("PRAGMA auto_vacuum = INCREMENTAL", Vec::new()),
        Statement::execute("VACUUM", Vec::new()),
    ]
}

/// The file's size in pages, and the page size.
pub(crate) fn size() -> Batch {
    Batch::read(vec![
        Statement::query("PRAGMA page_count", Vec::new()),
        Statement::query("PRAGMA page_size", Vec::new()),
    ])
}

/// The size in bytes [`size`] read.
pub(crate) fn file_size(mut outputs: Outputs) -> StoreResult<u64> {
    let mut one = |what: &str| -> StoreResult<u64> {
        let rows = outputs.next_rows()?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::database(format!("PRAGMA {what} returned no row")))?;
        u64::try_from(row.int(0)?)
            .map_err(|_| StoreError::database(format!("PRAGMA {what} was negative")))
    };
    let pages = one("page_count")?;
    let page_size = one("page_size")?;
    Ok(pages * page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_bind_every_criterion_in_order_and_name_statuses_literally() {
        let filter = JobFilter::default()
            .status(crate::JobStatus::Failed)
            .status(crate::JobStatus::Cancelled)
            .job_type("email")
            .queue("mail");
        let (sql, params) = conditions(&filter, 2);
        assert_eq!(
            sql,
            "(status = 'failed' OR status = 'cancelled') AND job_type = ?2 AND queue = ?3"
        );
        assert_eq!(params.len(), 2);
    }
}
