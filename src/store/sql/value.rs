//! The values a statement binds and a row holds, as every executor speaks
//! them: SQLite's storage classes.

use crate::error::{StoreError, StoreResult};

/// One SQL value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    /// Text a statement read as a blob (see
    /// [`SELECTED`](super::job_row::SELECTED)), or a real blob.
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Integer(value)
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Value::Integer(i64::from(value))
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Integer(i64::from(value))
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Real(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_string())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// One row a statement returned, column by column.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Row(pub Vec<Value>);

impl Row {
    fn value(&self, index: usize) -> StoreResult<&Value> {
        self.0
            .get(index)
            .ok_or_else(|| StoreError::database(format!("the row has no column {index}")))
    }

    fn mismatch(index: usize, expected: &str, got: &Value) -> StoreError {
        StoreError::Corrupt(format!(
            "column {index}: expected {expected}, found {got:?}"
        ))
    }

    /// A non-null text column.
    pub(crate) fn text(&self, index: usize) -> StoreResult<String> {
        self.opt_text(index)?
            .ok_or_else(|| Self::mismatch(index, "text", &Value::Null))
    }

    /// A nullable text column; text read as a blob is accepted.
    pub(crate) fn opt_text(&self, index: usize) -> StoreResult<Option<String>> {
        Ok(self.opt_str(index)?.map(str::to_owned))
    }

    /// A non-null text column, moved out of the row (which keeps `NULL` in
    /// its place).
    pub(crate) fn take_text(&mut self, index: usize) -> StoreResult<String> {
        self.take_opt_text(index)?
            .ok_or_else(|| Self::mismatch(index, "text", &Value::Null))
    }

    /// A nullable text column, moved out of the row (which keeps `NULL` in
    /// its place); text read as a blob is accepted.
    pub(crate) fn take_opt_text(&mut self, index: usize) -> StoreResult<Option<String>> {
        let value = self
            .0
            .get_mut(index)
            .ok_or_else(|| StoreError::database(format!("the row has no column {index}")))?;
        match std::mem::replace(value, Value::Null) {
            Value::Text(text) => Ok(Some(text)),
            Value::Blob(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
                StoreError::Corrupt(format!(
                    "column {index}: text is not UTF-8: {}",
                    e.utf8_error()
                ))
            }),
            Value::Null => Ok(None),
            other => {
                let error = Self::mismatch(index, "text", &other);
                *value = other;
                Err(error)
            }
        }
    }

    /// A non-null text column, borrowed: for a value that is parsed, not
    /// kept.
    pub(crate) fn str(&self, index: usize) -> StoreResult<&str> {
        self.opt_str(index)?
            .ok_or_else(|| Self::mismatch(index, "text", &Value::Null))
    }

    /// A nullable text column, borrowed; text read as a blob is accepted.
    pub(crate) fn opt_str(&self, index: usize) -> StoreResult<Option<&str>> {
        match self.value(index)? {
            Value::Text(text) => Ok(Some(text)),
            Value::Blob(bytes) => std::str::from_utf8(bytes).map(Some).map_err(|e| {
                StoreError::Corrupt(format!("column {index}: text is not UTF-8: {e}"))
            }),
            Value::Null => Ok(None),
            other => Err(Self::mismatch(index, "text", other)),
        }
    }

    /// A non-null integer column.
    pub(crate) fn int(&self, index: usize) -> StoreResult<i64> {
        self.opt_int(index)?
            .ok_or_else(|| Self::mismatch(index, "an integer", &Value::Null))
    }

    /// A nullable integer column.
    pub(crate) fn opt_int(&self, index: usize) -> StoreResult<Option<i64>> {
        match self.value(index)? {
            Value::Integer(n) => Ok(Some(*n)),
            Value::Null => Ok(None),
            other => Err(Self::mismatch(index, "an integer", other)),
        }
    }

    /// A non-null counter column (attempts, retries), as stored: never
    /// negative.
    pub(crate) fn count(&self, index: usize) -> StoreResult<u32> {
        let value = self.int(index)?;
        u32::try_from(value).map_err(|_| Self::mismatch(index, "a count", &Value::Integer(value)))
    }

    /// A non-null boolean column (0 or 1).
    pub(crate) fn flag(&self, index: usize) -> StoreResult<bool> {
        Ok(self.int(index)? != 0)
    }

    /// A nullable real column (an integer is accepted as a real).
    pub(crate) fn opt_real(&self, index: usize) -> StoreResult<Option<f64>> {
        match self.value(index)? {
            Value::Real(x) => Ok(Some(*x)),
            Value::Integer(n) => Ok(Some(*n as f64)),
            Value::Null => Ok(None),
            other => Err(Self::mismatch(index, "a number", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_each_storage_class_and_refuses_a_mismatch() {
        let row = Row(vec![
            Value::Text("a".into()),
            Value::Blob(b"b\0c".to_vec()),
            Value::Integer(7),
            Value::Real(1.5),
            Value::Null,
            Value::Integer(-1),
        ]);
        assert_eq!(row.text(0).unwrap(), "a");
        assert_eq!(row.text(1).unwrap(), "b\0c");
        assert_eq!(row.int(2).unwrap(), 7);
        assert_eq!(row.count(2).unwrap(), 7);
        assert!(row.flag(2).unwrap());
        assert_eq!(row.opt_real(3).unwrap(), Some(1.5));
        assert_eq!(row.opt_real(2).unwrap(), Some(7.0));
        assert_eq!(row.opt_text(4).unwrap(), None);
        assert!(matches!(row.text(4), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.int(0), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.count(5), Err(StoreError::Corrupt(_))));
        assert!(matches!(row.int(9), Err(StoreError::Database { .. })));

        let mut taken = row.clone();
        assert_eq!(taken.take_text(0).unwrap(), "a");
        assert_eq!(taken.take_opt_text(1).unwrap().as_deref(), Some("b\0c"));
        assert_eq!(taken.take_opt_text(0).unwrap(), None, "taken once");
        assert!(matches!(taken.take_text(2), Err(StoreError::Corrupt(_))));
        assert_eq!(taken.int(2).unwrap(), 7, "a mismatch leaves the value");
        assert!(matches!(
            Row(vec![Value::Blob(vec![0xff])]).take_text(0),
            Err(StoreError::Corrupt(_))
        ));
    }
}
