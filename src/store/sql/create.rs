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

/// The batch that creates `prepared`: all of them, or none.
pub(crate) fn create(prepared: &[PreparedJob]) -> Batch {
    Batch::write(insert(prepared))
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
                "INSERT INTO jobs ({COLUMNS}) SELECT ?1, job_type, 'pending', NULL, NULL, params, \
                 NULL, NULL, 0, max_attempts, 0, ?2, NULL, NULL, 0, id, correlation_id, ?2, ?2, \
                 NULL, NULL FROM jobs WHERE id = ?3 AND (status = 'failed' OR status = 'cancelled') \
                 RETURNING {SELECTED}"
            ),
            vec![new_id.to_string().into(), now, original.to_string().into()],
        ),
        Statement::query(
            "SELECT status FROM jobs WHERE id = ?1",
            vec![original.to_string().into()],
        ),
    ])
}

/// The retry's new job, or why there is none.
pub(crate) fn retried(original: JobId, mut outputs: Outputs) -> StoreResult<Job> {
    let copied = outputs.next_rows()?;
    let status = outputs.next_rows()?;
    if let Some(row) = copied.first() {
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
        assert!(sql.ends_with("?41, ?42)"), "{sql}");
        assert!(sql.contains("(?1, ?2,"), "{sql}");
    }
}
