//! Conversions between `chrono` instants and the stored form: milliseconds
//! since the Unix epoch, UTC.
//!
//! Every backend truncates instants to whole milliseconds before it stores or
//! compares them, so all backends observe exactly the same values.

use chrono::{DateTime, Utc};

use crate::error::StoreError;

/// Milliseconds since the Unix epoch of `instant`.
pub(crate) fn to_millis(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_millis()
}

/// The instant `millis` milliseconds after the Unix epoch.
pub(crate) fn from_millis(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {millis} ms is out of range")))
}

/// `instant` truncated to whole milliseconds.
pub(crate) fn truncate(instant: DateTime<Utc>) -> DateTime<Utc> {
    // Every DateTime<Utc> has a millisecond count that maps back into range.
    DateTime::from_timestamp_millis(instant.timestamp_millis()).unwrap_or(instant)
}

/// `instant + duration`, or a clear error when that is out of range.
pub(crate) fn add(
    instant: DateTime<Utc>,
    duration: std::time::Duration,
) -> Result<DateTime<Utc>, StoreError> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| instant.checked_add_signed(d))
        .ok_or_else(|| StoreError::InvalidInput(format!("duration {duration:?} is too large")))
}
