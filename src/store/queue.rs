//! Named queues: what a claim asks of each, what an enqueue answers, and
//! what a queue's settings and counts are.

use serde::{Deserialize, Serialize};

use crate::job::Job;

/// One queue a claim takes jobs from, and how many at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueClaim {
    /// The queue's name.
    pub queue: String,
    /// The most jobs to claim from it (0 claims none).
    pub limit: u32,
}

/// The answer to an enqueue: the job, and whether this enqueue created it
/// or found it already holding the unique key asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Enqueued {
    /// The job created, or the one that holds the unique key.
    pub job: Job,
    /// `true` when the job was already there (same unique key, inside its
    /// scope) and nothing was created.
    pub existing: bool,
}

/// A queue as operators see it: its settings and how many jobs it holds.
///
/// Every queue that has a job or settings is listed; a queue without
/// settings is not paused and has no limit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueInfo {
    /// The queue's name.
    pub name: String,
    /// Whether workers are kept from claiming its jobs (running ones
    /// finish).
    pub paused: bool,
    /// The most jobs of the queue that may run at once across all
    /// workers, if limited.
    pub concurrency_limit: Option<u32>,
    /// Pending jobs that are due (a worker may claim them now).
    pub available: u64,
    /// Pending jobs whose `run_at` is still in the future.
    pub scheduled: u64,
    /// Running jobs.
    pub running: u64,
}
