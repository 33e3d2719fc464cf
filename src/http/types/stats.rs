//! Counts of jobs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::StatusCounts;

/// What `GET /stats` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsResponse {
    /// All jobs in the store.
    pub total: u64,
    /// Jobs in each status.
    pub by_status: StatusCounts,
    /// Jobs of each type, in each status.
    pub by_type: BTreeMap<String, StatusCounts>,
}

/// What `GET /stats/activity` answers: each queue's activity over the last
/// hour by minute (`range=hour`, the default) or the last day by hour
/// (`range=day`), read from the jobs on record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityResponse {
    /// `"hour"` or `"day"`.
    pub range: String,
    /// How long each span is, in seconds.
    pub bucket_seconds: u64,
    /// The start of the first span.
    pub since: chrono::DateTime<chrono::Utc>,
    /// Every queue with anything in the window, by name; each has one entry
    /// per span, oldest first.
    pub queues: Vec<crate::store::QueueActivity>,
}
