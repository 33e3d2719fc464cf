//! Claims and the leases they hand out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobId};

/// What a worker asks for when it claims jobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// Who is claiming: recorded as `locked_by`.
    pub worker_id: String,
    /// The most jobs to claim at once.
    pub limit: u32,
    /// How long the lease lasts unless extended by a heartbeat.
    pub lease_duration: Duration,
    /// Claim only jobs of these types; `None` claims every type.
    pub job_types: Option<Vec<String>>,
}

impl ClaimRequest {
    /// The lease a claim gets unless told otherwise.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

    /// Up to `limit` jobs of any type for `worker_id`, with the default lease.
    pub fn new(worker_id: impl Into<String>, limit: u32) -> Self {
        ClaimRequest {
            worker_id: worker_id.into(),
            limit,
            lease_duration: Self::DEFAULT_LEASE,
            job_types: None,
        }
    }

    /// Sets the lease duration.
    pub fn lease_duration(mut self, lease: Duration) -> Self {
        self.lease_duration = lease;
        self
    }

    /// Claims only jobs of these types.
    pub fn job_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.job_types = Some(types.into_iter().map(Into::into).collect());
        self
    }
}

/// The right to write to a running job: its id and the attempt that holds it.
///
/// The attempt is the fencing token: once the job is rescued and claimed
/// again, writes with the old attempt are refused with
/// [`StoreError::LeaseLost`](crate::StoreError::LeaseLost).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lease {
    /// The job.
    pub job_id: JobId,
    /// The attempt holding the lease.
    pub attempt: u32,
}

/// A job handed to a worker, with its lease.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    /// The job as it is after the claim.
    pub job: Job,
    /// The lease to present on every write.
    pub lease: Lease,
}

/// What a heartbeat tells the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// When the extended lease runs out.
    pub lease_expires_at: DateTime<Utc>,
    /// Whether someone asked to cancel the job: the worker should stop it
    /// and call [`JobStore::mark_cancelled`](crate::JobStore::mark_cancelled).
    pub cancel_requested: bool,
}
