//! Claims and the leases they hand out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::QueueClaim;
use crate::job::{Job, JobId, NewJob};

/// What a worker asks for when it claims jobs: from which queues, how
/// many from each, for whom and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    /// Who is claiming: recorded as `locked_by`.
    pub worker_id: String,
    /// The queues to claim from, each with the most jobs to take from it.
    /// Within a queue, jobs are claimed by priority, then `run_at`, then
    /// id; a paused queue gives none, and a queue with a concurrency limit
    /// gives only as many as keep its running jobs within the limit.
    pub queues: Vec<QueueClaim>,
    /// How long the lease lasts unless extended by a heartbeat.
    pub lease_duration: Duration,
    /// Claim only jobs of these types; `None` claims every type.
    pub job_types: Option<Vec<String>>,
}

impl ClaimRequest {
    /// The lease a claim gets unless told otherwise.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

    /// Up to `limit` jobs of any type from the default queue for
    /// `worker_id`, with the default lease.
    pub fn new(worker_id: impl Into<String>, limit: u32) -> Self {
        Self::from_queues(worker_id, [(NewJob::DEFAULT_QUEUE, limit)])
    }

    /// Up to the given number of jobs from each of the given queues.
    pub fn from_queues<I, S>(worker_id: impl Into<String>, queues: I) -> Self
    where
        I: IntoIterator<Item = (S, u32)>,
        S: Into<String>,
    {
        ClaimRequest {
            worker_id: worker_id.into(),
            queues: queues
                .into_iter()
                .map(|(queue, limit)| QueueClaim {
                    queue: queue.into(),
                    limit,
                })
                .collect(),
            lease_duration: Self::DEFAULT_LEASE,
            job_types: None,
        }
    }

    /// Claims from `queue` instead of the queues named so far, with the
    /// same total limit.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        let limit = self.limit();
        self.queues = vec![QueueClaim {
            queue: queue.into(),
            limit,
        }];
        self
    }

    /// The most jobs the claim takes, from all its queues together.
    pub fn limit(&self) -> u32 {
        self.queues
            .iter()
            .fold(0u32, |sum, q| sum.saturating_add(q.limit))
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

    /// The queues that may give a job (a limit above zero).
    pub(crate) fn live_queues(&self) -> impl Iterator<Item = &QueueClaim> {
        self.queues.iter().filter(|q| q.limit > 0)
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
