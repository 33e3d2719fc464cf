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
