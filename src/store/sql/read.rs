//! Reading jobs: one job, a page of them, counts, queue positions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::job_row::{job_from_row, status_from_db, status_is, SELECTED};
use super::value::Value;
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, JobStatus};
use crate::store::{attempts, AttemptEnd, AttemptRecord, JobPage, ListQuery, StatusCounts};
use crate::time;

/// The job with `id`.
pub(crate) fn get(id: JobId) -> Batch {
    Batch::read(vec![Statement::query(
        format!("SELECT {SELECTED} FROM jobs WHERE id = ?1"),
        vec![id.to_string().into()],
    )])
}

/// The job [`get`] read, or not found.
pub(crate) fn got(id: JobId, mut outputs: Outputs) -> StoreResult<Job> {
    match outputs.next_rows()?.into_iter().next() {
        Some(row) => job_from_row(row),
        None => Err(StoreError::NotFound(id)),
    }
}

/// A job's recorded attempts, first to last, each with its worker's host
/// while the worker is known; the job itself; and the host of its worker
/// now (one snapshot).
pub(crate) fn attempts(id: JobId) -> Batch {
    let id = Value::from(id.to_string());
    Batch::read(vec![
        Statement::query(
            "SELECT a.attempt, CAST(a.worker AS BLOB), a.started_at, a.finished_at, a.outcome, \
             CAST(a.error AS BLOB), CAST(a.ended_by AS BLOB), CAST(w.host AS BLOB) \
             FROM job_attempts AS a LEFT JOIN workers AS w ON w.id = a.worker \
             WHERE a.job_id = ?1 ORDER BY a.attempt",
            vec![id.clone()],
        ),
        Statement::query(
            format!("SELECT {SELECTED} FROM jobs WHERE id = ?1"),
            vec![id.clone()],
        ),
        Statement::query(
            "SELECT CAST(host AS BLOB) FROM workers \
             WHERE id = (SELECT locked_by FROM jobs WHERE id = ?1)",
            vec![id],
        ),
    ])
}

/// What [`attempts`] read: every attempt, with the one running now or the
/// one that completed the job from its row.
pub(crate) fn attempts_read(id: JobId, mut outputs: Outputs) -> StoreResult<Vec<AttemptRecord>> {
    let time = |value: Option<i64>| value.map(time::from_millis).transpose();
    let recorded = outputs
        .next_rows()?
        .iter()
        .map(|row| {
            Ok(AttemptRecord {
                attempt: row.count(0)?,
                worker: row.opt_text(1)?,
                host: row.opt_text(7)?,
                started_at: time(row.opt_int(2)?)?,
                finished_at: time(row.opt_int(3)?)?,
                outcome: AttemptEnd::from_db(&row.text(4)?)?,
                error: row.opt_text(5)?,
                ended_by: row.opt_text(6)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let job = match outputs.next_rows()?.into_iter().next() {
        Some(row) => job_from_row(row)?,
        None => return Err(StoreError::NotFound(id)),
    };
    let host = match outputs.next_rows()?.first() {
        Some(row) => row.opt_text(0)?,
        None => None,
    };
    Ok(attempts::with_current(&job, recorded, host))
}

/// One page of jobs, newest first (the query must be valid).
pub(crate) fn list(query: &ListQuery) -> Batch {
    // The status is written into the statement, never bound: the status
    // indexes hold every status but `running`, and SQLite uses such an
    // index only for a statement whose condition names the status itself.
    let mut filters: Vec<String> = query.status.map(status_is).into_iter().collect();
    let mut params: Vec<Value> = Vec::new();
    let mut bind = |filter: &str, value: Value, params: &mut Vec<Value>| {
        params.push(value);
        filters.push(format!("{filter} ?{}", params.len()));
    };
    if let Some(job_type) = &query.job_type {
        bind("job_type =", job_type.as_str().into(), &mut params);
    }
    if let Some(correlation_id) = &query.correlation_id {
        bind(
            "correlation_id =",
            correlation_id.as_str().into(),
            &mut params,
        );
    }
    if let Some(queue) = &query.queue {
        bind("queue =", queue.as_str().into(), &mut params);
    }
    if let Some(cursor) = query.cursor {
        bind("id <", cursor.to_string().into(), &mut params);
    }
    // Running jobs are few and all on the reaper index: read from it (and
    // sorted) even when a type or a cursor would let SQLite walk another
    // index through every finished job of that type instead.
    let mut source = if query.status == Some(JobStatus::Running) {
        "jobs INDEXED BY jobs_reaper_idx".to_string()
    } else {
        "jobs".to_string()
    };
    if let Some(text) = query.search_text() {
        params.push(text.into());
        let exact = params.len();
        params.push(text.to_ascii_lowercase().into());
        let lower = params.len();
        params.push(i64::try_from(text.len()).unwrap_or(i64::MAX).into());
        let length = params.len();
        let window = ListQuery::SEARCH_WINDOW - 1;
        // What the search finds, each part through an index: an id or a
        // correlation id at any age; the rest among the newest jobs, a
        // range of the primary key. The jobs table is then read for those
        // rows only (CROSS JOIN keeps that order), never scanned whole.
        source = format!(
            "(SELECT id AS found_id FROM jobs WHERE id = ?{exact} \
             UNION SELECT id FROM jobs WHERE correlation_id = ?{exact} \
             UNION SELECT id FROM jobs \
               WHERE id >= coalesce((SELECT id FROM jobs ORDER BY id DESC LIMIT 1 OFFSET {window}), '') \
               AND (substr(id, 1, ?{length}) = ?{lower} OR substr(id, -?{length}) = ?{lower} \
               OR instr(lower(params), ?{lower}) > 0 \
               OR instr(lower(coalesce(error, '')), ?{lower}) > 0)) AS found \
             CROSS JOIN jobs ON jobs.id = found.found_id"
        );
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {} ", filters.join(" AND "))
    };
    // One job more than the page holds tells whether another page follows.
    let limit = u64::from(query.limit) + 1;
    Batch::read(vec![Statement::query(
        format!("SELECT {SELECTED} FROM {source} {filter}ORDER BY id DESC LIMIT {limit}"),
        params,
    )])
}

/// The page [`list`] read.
pub(crate) fn listed(query: &ListQuery, mut outputs: Outputs) -> StoreResult<JobPage> {
    let jobs = outputs
        .next_rows()?
        .into_iter()
        .map(job_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(JobPage::from_overfetched(jobs, query.limit))
}

/// The condition of the status indexes (`jobs_list_idx`, `jobs_type_idx`),
/// exactly as the migration wrote it: every status but `running`. A
/// statement that repeats it may read those indexes whole.
const INDEXED_STATUSES: &str =
    "status = 'pending' OR status = 'completed' OR status = 'failed' OR status = 'cancelled'";

/// How many jobs of each type are in each status: one grouped read of the
/// type index for every status but `running`, and the running jobs (few)
/// from the reaper index.
pub(crate) fn count_by_type() -> Batch {
    Batch::read(vec![Statement::query(
        format!(
            "SELECT CAST(job_type AS BLOB), status, count(*) FROM jobs INDEXED BY jobs_type_idx \
             WHERE {INDEXED_STATUSES} GROUP BY job_type, status \
             UNION ALL \
             SELECT CAST(job_type AS BLOB), status, count(*) FROM jobs \
             WHERE status = 'running' GROUP BY job_type"
        ),
        Vec::new(),
    )])
}

/// The counts [`count_by_type`] read.
pub(crate) fn counted_by_type(mut outputs: Outputs) -> StoreResult<BTreeMap<String, StatusCounts>> {
    let mut counts: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for row in outputs.next_rows()? {
        let status = status_from_db(&row.text(1)?)?;
        counts
            .entry(row.text(0)?)
            .or_default()
            .add(status, u64::try_from(row.int(2)?).unwrap_or(0));
    }
    Ok(counts)
}

/// How many jobs are in each status: from the list index for every status
/// but `running`, and from the reaper index for that one.
pub(crate) fn count_by_status() -> Batch {
    Batch::read(vec![Statement::query(
        format!(
            "SELECT status, count(*) FROM jobs INDEXED BY jobs_list_idx \
             WHERE {INDEXED_STATUSES} GROUP BY status \
             UNION ALL \
             SELECT 'running', count(*) FROM jobs WHERE status = 'running'"
        ),
        Vec::new(),
    )])
}

/// The counts [`count_by_status`] read.
pub(crate) fn counted_by_status(mut outputs: Outputs) -> StoreResult<StatusCounts> {
    let mut counts = StatusCounts::default();
    for row in outputs.next_rows()? {
        let status = status_from_db(&row.text(0)?)?;
        counts.add(status, u64::try_from(row.int(1)?).unwrap_or(0));
    }
    Ok(counts)
}

/// For each job of `ids`: its id, and, while it is pending and due at
/// `now`, how many jobs will start before it: the due pending jobs of its
/// queue ahead of it in claim order (priority, `run_at`, id), counted on
/// the claim index. A job that is not pending, or not yet due, has none.
pub(crate) fn queue_positions(ids: &[JobId], now: DateTime<Utc>) -> Batch {
    let placeholders: Vec<String> = (2..ids.len() + 2).map(|n| format!("?{n}")).collect();
    let mut params = vec![Value::from(time::to_millis(now))];
    params.extend(ids.iter().map(|id| Value::from(id.to_string())));
    Batch::read(vec![Statement::query(
        format!(
            "SELECT j.id, CASE WHEN j.status = 'pending' AND j.run_at <= ?1 THEN \
             (SELECT count(*) FROM jobs AS p WHERE p.status = 'pending' AND p.queue = j.queue \
             AND p.priority < j.priority AND p.run_at <= ?1) \
             + (SELECT count(*) FROM jobs AS p WHERE p.status = 'pending' AND p.queue = j.queue \
             AND p.priority = j.priority AND (p.run_at, p.id) < (j.run_at, j.id)) END \
             FROM jobs AS j WHERE j.id IN ({})",
            placeholders.join(", ")
        ),
        params,
    )])
}

/// The positions [`queue_positions`] read, in the order of `ids`: `None`
/// for a job not found, else its position (`None` unless pending).
pub(crate) fn queue_positioned(
    ids: &[JobId],
    mut outputs: Outputs,
) -> StoreResult<Vec<Option<Option<u64>>>> {
    let mut found = BTreeMap::new();
    for row in outputs.next_rows()? {
        let position = row.opt_int(1)?.map(|n| u64::try_from(n).unwrap_or(0));
        found.insert(row.text(0)?, position);
    }
    Ok(ids
        .iter()
        .map(|id| found.get(&id.to_string()).copied())
        .collect())
}

/// What a [`next_due`](super::claim::next_due) statement read.
pub(crate) fn read_next_due(
    outputs: &mut Outputs,
) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    let at = outputs
        .next_rows()?
        .first()
        .map(|row| row.opt_int(0))
        .transpose()?
        .flatten();
    super::job_row::optional_time(at)
}
