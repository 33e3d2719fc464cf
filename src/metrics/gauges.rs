//! Gauges of how many jobs are in each status, set when metrics are read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use metrics::gauge;

use super::{JOBS, JOBS_BY_TYPE};
use crate::job::JobStatus;
use crate::store::StatusCounts;

/// Sets the `jobstore_jobs` and `jobstore_jobs_by_type` gauges from fresh
/// counts, and zeroes the types that no longer appear, so a scrape never
/// shows a count that is gone.
#[derive(Debug, Default)]
pub struct JobGauges {
    types_seen: Mutex<BTreeSet<String>>,
}

impl JobGauges {
    /// Gauges that have set nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets every gauge from `by_status` and `by_type`.
    pub fn set(&self, by_status: &StatusCounts, by_type: &BTreeMap<String, StatusCounts>) {
        for status in JobStatus::ALL {
            gauge!(JOBS, "status" => status.as_str()).set(by_status.get(status) as f64);
        }
        let mut seen = self
            .types_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for gone in seen.iter().filter(|t| !by_type.contains_key(*t)) {
            set_type(gone, &StatusCounts::default());
        }
        seen.clear();
        for (job_type, counts) in by_type {
            set_type(job_type, counts);
            seen.insert(job_type.clone());
        }
    }
}

fn set_type(job_type: &str, counts: &StatusCounts) {
    for status in JobStatus::ALL {
        gauge!(JOBS_BY_TYPE, "job_type" => job_type.to_string(), "status" => status.as_str())
            .set(counts.get(status) as f64);
    }
}
