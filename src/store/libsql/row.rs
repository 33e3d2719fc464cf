//! Reading `jobs` rows from libSQL, and binding them for an insert.

use libsql::{Row, Value};

use super::db_error;
use crate::error::{StoreError, StoreResult};
use crate::job::Job;
use crate::store::rules::PreparedJob;
use crate::store::sqlite::row::JobRow;

/// Every column of `jobs`, in the order [`job_from_row`] reads them.
pub(crate) const COLUMNS: &str = "id, job_type, status, stage, progress, params, result, error, \
     retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at, cancel_requested, \
     retry_of, correlation_id, created_at, updated_at, started_at, completed_at";

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 21;

/// [`COLUMNS`] as `SELECT` and `RETURNING` read them: the text a caller
/// chose (type, stage, error, worker, correlation id) is read as a blob.
/// libsql reads a local text value only up to its first NUL character,
/// while a blob comes back whole; [`Reader`] turns it back into text.
pub(crate) const SELECTED: &str = "id, CAST(job_type AS BLOB), status, CAST(stage AS BLOB), \
     progress, params, result, CAST(error AS BLOB), retry_count, max_attempts, attempt, run_at, \
     CAST(locked_by AS BLOB), lease_expires_at, cancel_requested, retry_of, \
     CAST(correlation_id AS BLOB), created_at, updated_at, started_at, completed_at";

/// A row selected with [`SELECTED`], as a [`Job`].
pub(crate) fn job_from_row(row: &Row) -> StoreResult<Job> {
    let r = Reader(row);
    JobRow {
        id: r.text(0)?,
        job_type: r.text(1)?,
        status: r.text(2)?,
        stage: r.opt_text(3)?,
        progress: r.opt_real(4)?.map(|p| p as f32),
        params: r.text(5)?,
        result: r.opt_text(6)?,
        error: r.opt_text(7)?,
        retry_count: r.int32(8)?,
        max_attempts: r.int32(9)?,
        attempt: r.int32(10)?,
        run_at: r.int(11)?,
        locked_by: r.opt_text(12)?,
        lease_expires_at: r.opt_int(13)?,
        cancel_requested: r.int(14)? != 0,
        retry_of: r.opt_text(15)?,
        correlation_id: r.opt_text(16)?,
        created_at: r.int(17)?,
        updated_at: r.int(18)?,
        started_at: r.opt_int(19)?,
        completed_at: r.opt_int(20)?,
    }
    .try_into()
}

/// The values of one prepared job, in [`COLUMNS`] order.
pub(crate) fn insert_values(prepared: &PreparedJob) -> StoreResult<Vec<Value>> {
    let row = JobRow::try_from(prepared)?;
    Ok(vec![
        Value::Text(row.id),
        Value::Text(row.job_type),
        Value::Text(row.status),
        opt_text(row.stage),
        row.progress
            .map_or(Value::Null, |p| Value::Real(f64::from(p))),
        Value::Text(row.params),
        opt_text(row.result),
        opt_text(row.error),
        Value::Integer(i64::from(row.retry_count)),
        Value::Integer(i64::from(row.max_attempts)),
        Value::Integer(i64::from(row.attempt)),
        Value::Integer(row.run_at),
        opt_text(row.locked_by),
        opt_int(row.lease_expires_at),
        Value::Integer(i64::from(row.cancel_requested)),
        opt_text(row.retry_of),
        opt_text(row.correlation_id),
        Value::Integer(row.created_at),
        Value::Integer(row.updated_at),
        opt_int(row.started_at),
        opt_int(row.completed_at),
    ])
}

/// A text value, or NULL.
pub(crate) fn opt_text(value: Option<String>) -> Value {
    value.map_or(Value::Null, Value::Text)
}

/// An integer value, or NULL.
pub(crate) fn opt_int(value: Option<i64>) -> Value {
    value.map_or(Value::Null, Value::Integer)
}

/// Typed reads of a row's columns that report a mismatch as corrupt data
/// instead of panicking.
pub(crate) struct Reader<'r>(pub &'r Row);

impl Reader<'_> {
    fn value(&self, index: usize) -> StoreResult<Value> {
        let index = i32::try_from(index)
            .map_err(|_| StoreError::Database(format!("column {index} out of range")))?;
        self.0.get_value(index).map_err(db_error)
    }

    fn mismatch(index: usize, expected: &str, got: &Value) -> StoreError {
        StoreError::Corrupt(format!(
            "column {index}: expected {expected}, found {got:?}"
        ))
    }

    /// A non-null text column.
    pub fn text(&self, index: usize) -> StoreResult<String> {
        self.opt_text(index)?
            .ok_or_else(|| Self::mismatch(index, "text", &Value::Null))
    }

    /// A nullable text column, or text selected as a blob (see
    /// [`SELECTED`]).
    pub fn opt_text(&self, index: usize) -> StoreResult<Option<String>> {
        match self.value(index)? {
            Value::Text(text) => Ok(Some(text)),
            Value::Blob(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
                StoreError::Corrupt(format!("column {index}: text is not UTF-8: {e}"))
            }),
            Value::Null => Ok(None),
            other => Err(Self::mismatch(index, "text", &other)),
        }
    }

    /// A non-null integer column.
    pub fn int(&self, index: usize) -> StoreResult<i64> {
        self.opt_int(index)?
            .ok_or_else(|| Self::mismatch(index, "an integer", &Value::Null))
    }

    /// A non-null integer column that fits `i32`.
    pub fn int32(&self, index: usize) -> StoreResult<i32> {
        let value = self.int(index)?;
        i32::try_from(value)
            .map_err(|_| Self::mismatch(index, "a 32-bit integer", &Value::Integer(value)))
    }

    /// A nullable integer column.
    pub fn opt_int(&self, index: usize) -> StoreResult<Option<i64>> {
        match self.value(index)? {
            Value::Integer(n) => Ok(Some(n)),
            Value::Null => Ok(None),
            other => Err(Self::mismatch(index, "an integer", &other)),
        }
    }

    /// A nullable real column (an integer is accepted as a real).
    pub fn opt_real(&self, index: usize) -> StoreResult<Option<f64>> {
        match self.value(index)? {
            Value::Real(x) => Ok(Some(x)),
            Value::Integer(n) => Ok(Some(n as f64)),
            Value::Null => Ok(None),
            other => Err(Self::mismatch(index, "a number", &other)),
        }
    }
}
