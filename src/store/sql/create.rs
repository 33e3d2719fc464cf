//! Creating jobs: inserts, and the job that retries a failed one.

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::job_row::{
    insert_values, job_from_row, status_from_db, COLUMNS, COLUMN_COUNT, SELECTED,
};
use super::value::Value;
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, PreparedJob};
use crate::store::Enqueued;
use crate::time;

/// The row counts of the multi-row `INSERT`s a batch of jobs is split
/// into. A fixed set of shapes, so an executor that keeps statements
/// prepared (by their SQL) prepares each once, whatever the batch sizes;
/// and a batch of any size is still only a few statements.
const SHAPES: [usize; 4] = [64, 16, 4, 1];

/// The `INSERT` of `rows` jobs.
fn insert_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO jobs ({COLUMNS}) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..COLUMN_COUNT {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('?');
            sql.push_str(&(row * COLUMN_COUNT + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// The statements that insert `prepared`, in order.
pub(crate) fn insert(prepared: &[PreparedJob]) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut rest = prepared;
    for shape in SHAPES {
        while rest.len() >= shape {
            let (chunk, tail) = rest.split_at(shape);
            let mut params = Vec::with_capacity(shape * COLUMN_COUNT);
            for job in chunk {
                insert_values(job, &mut params);
            }
            statements.push(Statement::execute(insert_sql(shape), params));
            rest = tail;
        }
    }
    statements
}

/// The batch that enqueues `prepared` at `now`: all of them, or none.
///
/// Jobs without a unique key are the multi-row inserts of [`insert`]. For
/// jobs with one, the batch first takes their keys off holders whose
/// scope is over, then inserts each with `ON CONFLICT DO NOTHING` on the
/// partial unique index (so a concurrent enqueuer in another process
/// cannot slip a second job in), and reads who holds each key after.
pub(crate) fn enqueue(prepared: &[PreparedJob], now: DateTime<Utc>) -> Batch {
    let (unique, plain): (Vec<&PreparedJob>, Vec<&PreparedJob>) =
        prepared.iter().partition(|p| p.job.unique.is_some());
    let plain: Vec<PreparedJob> = plain.into_iter().cloned().collect();
    let mut statements = insert(&plain);
    if unique.is_empty() {
        return Batch::write(statements);
    }
    let keys: Vec<Value> = unique
        .iter()
        .filter_map(|p| p.job.unique.as_ref())
        .map(|u| Value::from(u.key.as_str()))
        .collect();
    let key_list = |first: usize| -> String {
        (first..first + keys.len())
            .map(|n| format!("?{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut release_params = vec![Value::from(time::to_millis(now))];
    release_params.extend(keys.iter().cloned());
    statements.insert(
        0,
        Statement::execute(
            format!(
                "UPDATE jobs SET unique_key = NULL WHERE unique_key IN ({}) AND (\
                 (unique_scope = 'pending' AND status <> 'pending') \
                 OR (unique_scope = 'active' AND status IN ('completed', 'failed', 'cancelled')) \
                 OR (unique_scope = 'period' AND status IN ('completed', 'failed', 'cancelled') \
                 AND coalesce(completed_at, updated_at) + coalesce(unique_for_ms, 0) <= ?1))",
                key_list(2)
            ),
            release_params,
        ),
    );
    let insert_one = format!(
        "{} ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING RETURNING id",
        insert_sql(1)
    );
    for job in &unique {
        let mut params = Vec::with_capacity(COLUMN_COUNT);
        insert_values(job, &mut params);
        statements.push(Statement::query(insert_one.clone(), params));
    }
    statements.push(Statement::query(
        format!(
            "SELECT {SELECTED} FROM jobs WHERE unique_key IN ({})",
            key_list(1)
        ),
        keys,
    ));
    Batch::write(statements)
}

/// What an [`enqueue`] batch of `prepared` did, in the order of
/// `prepared`.
pub(crate) fn enqueued(
    prepared: Vec<PreparedJob>,
    mut outputs: Outputs,
) -> StoreResult<Vec<Enqueued>> {
    let unique_count = prepared.iter().filter(|p| p.job.unique.is_some()).count();
    if unique_count == 0 {
        return Ok(prepared
            .into_iter()
            .map(|p| Enqueued {
                job: p.job,
                existing: false,
            })
            .collect());
    }
    outputs.next_changes()?;
    let plain: Vec<PreparedJob> = prepared
        .iter()
        .filter(|p| p.job.unique.is_none())
        .cloned()
        .collect();
    for _ in insert(&plain) {
        outputs.next_changes()?;
    }
    let mut inserted = Vec::with_capacity(unique_count);
    for _ in 0..unique_count {
        inserted.push(!outputs.next_rows()?.is_empty());
    }
    let mut holders = std::collections::HashMap::new();
    for row in outputs.next_rows()? {
        let job = job_from_row(row)?;
        if let Some(unique) = &job.unique {
            holders.insert(unique.key.clone(), job.clone());
        }
    }
    let mut inserted = inserted.into_iter();
    prepared
        .into_iter()
        .map(|p| {
            let Some(unique) = p.job.unique.clone() else {
                return Ok(Enqueued {
                    job: p.job,
                    existing: false,
                });
            };
            if inserted.next().unwrap_or(false) {
                return Ok(Enqueued {
                    job: p.job,
                    existing: false,
                });
            }
            holders
                .get(&unique.key)
                .cloned()
                .map(|job| Enqueued {
                    job,
                    existing: true,
                })
                .ok_or_else(|| {
                    StoreError::database(format!(
                        "no job holds unique key {:?}, yet the insert was refused",
                        unique.key
                    ))
                })
        })
        .collect()
}

/// Creates the job that retries `original` (failed or cancelled), made
/// at `now` with the id `new_id`, in one statement that copies the
/// original's type, params, attempts and correlation id; then reads the
/// original's status, which says why nothing was copied.
pub(crate) fn retry(original: JobId, new_id: JobId, now: DateTime<Utc>) -> Batch {
    let now = Value::from(time::to_millis(now));
    Batch::write(vec![
        Statement::query(
            format!(
                "INSERT INTO jobs ({COLUMNS}) SELECT {} FROM jobs WHERE id = ?3 AND \
                 (status = 'failed' OR status = 'cancelled') RETURNING {SELECTED}",
                retry_values("?1", "?2")
            ),
            vec![new_id.to_string().into(), now, original.to_string().into()],
        ),
        Statement::query(
            "SELECT status FROM jobs WHERE id = ?1",
            vec![original.to_string().into()],
        ),
    ])
}

/// The values, in [`COLUMNS`] order, of the job retrying the row being
/// read: id `id`, created at `now` (both SQL expressions), pending, with
/// the original's type, params, attempts, correlation id, queue and
/// priority, and no unique key (the original held it, or it lapsed).
pub(crate) fn retry_values(id: &str, now: &str) -> String {
    format!(
        "{id}, job_type, 'pending', NULL, NULL, params, NULL, NULL, 0, max_attempts, 0, {now}, \
         NULL, NULL, 0, id, correlation_id, {now}, {now}, NULL, NULL, queue, priority, NULL, \
         NULL, NULL"
    )
}

/// The retry's new job, or why there is none.
pub(crate) fn retried(original: JobId, mut outputs: Outputs) -> StoreResult<Job> {
    let copied = outputs.next_rows()?;
    let status = outputs.next_rows()?;
    if let Some(row) = copied.into_iter().next() {
        return job_from_row(row);
    }
    match status.first() {
        None => Err(StoreError::NotFound(original)),
        Some(row) => Err(StoreError::InvalidTransition {
            id: original,
            action: "retry",
            status: status_from_db(&row.text(0)?)?,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_into_the_fixed_shapes() {
        let sizes = |n: usize| -> Vec<usize> {
            let now = Utc::now();
            let jobs: Vec<PreparedJob> = (0..n)
                .map(|i| {
                    crate::job::prepare(
                        &crate::NewJob::new("t", serde_json::json!({ "i": i })),
                        now,
                        None,
                    )
                    .unwrap()
                })
                .collect();
            insert(&jobs)
                .iter()
                .map(|s| s.params.len() / COLUMN_COUNT)
                .collect()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(5), vec![4, 1]);
        assert_eq!(sizes(100), vec![64, 16, 16, 4]);
        assert_eq!(sizes(133), vec![64, 64, 4, 1]);
    }

    #[test]
    fn an_insert_numbers_every_value() {
        let sql = insert_sql(2);
        assert!(sql.ends_with("?51, ?52)"), "{sql}");
        assert!(sql.contains("(?1, ?2,"), "{sql}");
    }
}
