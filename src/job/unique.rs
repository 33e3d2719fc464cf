//! Unique jobs: a key that keeps a second job with the same key from being
//! enqueued while the first one's scope lasts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a job's unique key keeps another job with the same key from
/// being enqueued. Inside the scope, an enqueue with the key returns the
/// job that holds it ([`Enqueued::existing`](crate::store::Enqueued)),
/// never a second job and never an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UniqueScope {
    /// While the job is pending: once a worker has claimed it, the key is
    /// free (a job that goes back to pending to be retried holds it again
    /// unless another job took it meanwhile).
    WhilePending,
    /// While the job is pending or running: until it has finished,
    /// whatever its outcome.
    WhileActive,
    /// Until this long after the job finished (a debounce: at most one
    /// such job per period, counted from the end of the last one).
    UntilFinishedPlus(#[serde(with = "millis")] Duration),
}

impl UniqueScope {
    /// The scope's name as stored (`pending`, `active`, `period`).
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            UniqueScope::WhilePending => "pending",
            UniqueScope::WhileActive => "active",
            UniqueScope::UntilFinishedPlus(_) => "period",
        }
    }

    /// The period after finishing, stored in milliseconds (only for
    /// [`UniqueScope::UntilFinishedPlus`]).
    pub(crate) fn period_millis(self) -> Option<i64> {
        match self {
            UniqueScope::UntilFinishedPlus(period) => {
                Some(i64::try_from(period.as_millis()).unwrap_or(i64::MAX))
            }
            _ => None,
        }
    }

    /// The scope stored as `scope` with `period` milliseconds.
    pub(crate) fn from_db(scope: &str, period: Option<i64>) -> Option<Self> {
        match scope {
            "pending" => Some(UniqueScope::WhilePending),
            "active" => Some(UniqueScope::WhileActive),
            "period" => Some(UniqueScope::UntilFinishedPlus(Duration::from_millis(
                period.and_then(|p| u64::try_from(p).ok()).unwrap_or(0),
            ))),
            _ => None,
        }
    }
}

/// A job's unique key and its scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueKey {
    /// The key: jobs with the same key (whatever their type or queue)
    /// exclude each other inside the scope.
    pub key: String,
    /// How long the key is held.
    pub scope: UniqueScope,
}

/// A duration as whole milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}
