//! The `jobs` row: its one column list, and its conversion to and from a
//! [`Job`].

use super::value::{Row, Value};
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, JobStatus, PreparedJob, UniqueKey, UniqueScope};
use crate::time;

/// Every column of `jobs`, in the order [`job_from_row`] reads them and
/// [`insert_values`] binds them.
pub(crate) const COLUMNS: &str = "id, job_type, status, stage, progress, params, result, error, \
     retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at, cancel_requested, \
     retry_of, correlation_id, created_at, updated_at, started_at, completed_at, queue, priority, \
     unique_key, unique_scope, unique_for_ms";

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 26;

/// [`COLUMNS`] as `SELECT` and `RETURNING` read them. The text a caller
/// chose (type, stage, error, worker, correlation id) is read as a blob:
/// a local libSQL connection reads text only up to its first NUL
/// character, while a blob comes back whole (and [`Row`] takes it back as
/// text).
pub(crate) const SELECTED: &str = "id, CAST(job_type AS BLOB), status, CAST(stage AS BLOB), \
     progress, params, result, CAST(error AS BLOB), retry_count, max_attempts, attempt, run_at, \
     CAST(locked_by AS BLOB), lease_expires_at, cancel_requested, retry_of, \
     CAST(correlation_id AS BLOB), created_at, updated_at, started_at, completed_at, queue, \
     priority, CAST(unique_key AS BLOB), unique_scope, unique_for_ms";

/// A stored id as a [`JobId`].
pub(crate) fn id_from_db(value: &str) -> StoreResult<JobId> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("stored job id: {e}")))
}

/// A stored status as a [`JobStatus`].
pub(crate) fn status_from_db(value: &str) -> StoreResult<JobStatus> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("stored status: {e}")))
}

/// `status = '<status>'`: a status as a literal condition, which SQLite
/// matches to the partial indexes on the status (it cannot match a bound
/// value, known only when the statement runs).
pub(crate) fn status_is(status: JobStatus) -> String {
    format!("status = '{}'", status.as_str())
}

/// Stored JSON text as a value.
pub(crate) fn json_from_db(value: &str, column: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(value)
        .map_err(|e| StoreError::Corrupt(format!("{column} is not valid JSON: {e}")))
}

/// A stored instant (milliseconds), if any.
pub(crate) fn optional_time(
    value: Option<i64>,
) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    value.map(time::from_millis).transpose()
}

/// A row selected with [`SELECTED`], as a [`Job`] (its text moved, not
/// copied).
pub(crate) fn job_from_row(mut row: Row) -> StoreResult<Job> {
    Ok(Job {
        id: id_from_db(row.str(0)?)?,
        job_type: row.take_text(1)?,
        status: status_from_db(row.str(2)?)?,
        stage: row.take_opt_text(3)?,
        progress: row.opt_real(4)?.map(|p| p as f32),
        params: json_from_db(row.str(5)?, "params")?,
        result: row
            .opt_str(6)?
            .map(|r| json_from_db(r, "result"))
            .transpose()?,
        error: row.take_opt_text(7)?,
        retry_count: row.count(8)?,
        max_attempts: row.count(9)?,
        attempt: row.count(10)?,
        run_at: time::from_millis(row.int(11)?)?,
        locked_by: row.take_opt_text(12)?,
        lease_expires_at: optional_time(row.opt_int(13)?)?,
        cancel_requested: row.flag(14)?,
        retry_of: row.opt_str(15)?.map(id_from_db).transpose()?,
        correlation_id: row.take_opt_text(16)?,
        created_at: time::from_millis(row.int(17)?)?,
        updated_at: time::from_millis(row.int(18)?)?,
        started_at: optional_time(row.opt_int(19)?)?,
        completed_at: optional_time(row.opt_int(20)?)?,
        queue: row.take_text(21)?,
        priority: u8::try_from(row.int(22)?)
            .map_err(|_| StoreError::Corrupt("stored priority is out of range".into()))?,
        unique: unique_from_row(&mut row)?,
    })
}

/// The unique key of a row selected with [`SELECTED`], if it holds one.
fn unique_from_row(row: &mut Row) -> StoreResult<Option<UniqueKey>> {
    let Some(key) = row.take_opt_text(23)? else {
        return Ok(None);
    };
    let scope = row.opt_str(24)?.unwrap_or_default();
    let scope = UniqueScope::from_db(scope, row.opt_int(25)?)
        .ok_or_else(|| StoreError::Corrupt(format!("stored unique scope {scope:?}")))?;
    Ok(Some(UniqueKey { key, scope }))
}

/// The values of one prepared job, in [`COLUMNS`] order.
pub(crate) fn insert_values(prepared: &PreparedJob, into: &mut Vec<Value>) {
    let job = &prepared.job;
    into.extend([
        Value::Text(job.id.to_string()),
        Value::Text(job.job_type.clone()),
        Value::from(job.status.as_str()),
        Value::from(job.stage.clone()),
        Value::from(job.progress.map(f64::from)),
        Value::Text(prepared.params_json.clone()),
        Value::Null,
        Value::from(job.error.clone()),
        Value::from(job.retry_count),
        Value::from(job.max_attempts),
        Value::from(job.attempt),
        Value::from(time::to_millis(job.run_at)),
        Value::from(job.locked_by.clone()),
        Value::from(job.lease_expires_at.map(time::to_millis)),
        Value::from(job.cancel_requested),
        Value::from(job.retry_of.map(|id| id.to_string())),
        Value::from(job.correlation_id.clone()),
        Value::from(time::to_millis(job.created_at)),
        Value::from(time::to_millis(job.updated_at)),
        Value::from(job.started_at.map(time::to_millis)),
        Value::from(job.completed_at.map(time::to_millis)),
        Value::Text(job.queue.clone()),
        Value::from(u32::from(job.priority)),
        Value::from(job.unique.as_ref().map(|u| u.key.clone())),
        Value::from(job.unique.as_ref().map(|u| u.scope.as_db())),
        Value::from(job.unique.as_ref().and_then(|u| u.scope.period_millis())),
    ]);
}
