//! Counts of jobs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::StatusCounts;

/// What `GET /stats` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsResponse {
    /// All jobs in the store.
    pub total: u64,
    /// Jobs in each status: exact.
    pub by_status: StatusCounts,
    /// Jobs of each type, in each status, among the `by_type_scanned`
    /// newest jobs.
    pub by_type: BTreeMap<String, StatusCounts>,
    /// How many of the newest jobs were read to count `by_type`.
    pub by_type_scanned: u64,
    /// Whether `by_type` counts every job in the store (false when the
    /// store holds more jobs than the scan limit).
    pub by_type_complete: bool,
}
