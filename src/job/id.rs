//! Job ids: UUIDv7, so that ids sort by creation time.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::{timestamp::context::ContextV7, Timestamp, Uuid};

/// One counter for the whole process, so ids created in the same millisecond
/// still sort in creation order.
static ID_CONTEXT: Mutex<ContextV7> = Mutex::new(ContextV7::new());

/// The id of a job: a UUIDv7, stored as its 36-character lowercase text.
///
/// Ids made by one process sort in creation order, even many within one
/// millisecond, so they double as the FIFO tie-breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(Uuid);

impl JobId {
    /// A new id for a job created at `created_at`.
    pub fn new_at(created_at: DateTime<Utc>) -> Self {
        let seconds = u64::try_from(created_at.timestamp()).unwrap_or(0);
        let timestamp =
            Timestamp::from_unix(&ID_CONTEXT, seconds, created_at.timestamp_subsec_nanos());
        JobId(Uuid::new_v7(timestamp))
    }

    /// The id as a [`Uuid`].
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for JobId {
    fn from(uuid: Uuid) -> Self {
        JobId(uuid)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The text given as a job id is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a job id (expected a UUID such as 0193b6c2-4d5e-7f00-8a1b-2c3d4e5f6071)")]
pub struct ParseJobIdError {
    input: String,
}

impl FromStr for JobId {
    type Err = ParseJobIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(JobId)
            .map_err(|_| ParseJobIdError {
                input: s.to_string(),
            })
    }
}
