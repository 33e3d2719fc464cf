//! A job as stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobId, JobStatus, UniqueKey};

/// A job as the store holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// The name of the job type; selects the handler.
    pub job_type: String,
    /// Where the job is in its life.
    pub status: JobStatus,
    /// The stage last reported by the running job.
    pub stage: Option<String>,
    /// Percent within `stage`; `None` when the stage cannot measure progress.
    pub progress: Option<f32>,
    /// The handler's input.
    pub params: serde_json::Value,
    /// The handler's output, once completed.
    pub result: Option<serde_json::Value>,
    /// The last error: why an attempt failed, or why the job failed.
    pub error: Option<String>,
    /// How many failed attempts were retried.
    pub retry_count: u32,
    /// How many attempts may fail before the job fails for good.
    pub max_attempts: u32,
    /// How many times the job has been claimed; the fencing token of the
    /// current lease.
    pub attempt: u32,
    /// The job is not claimable before this instant.
    pub run_at: DateTime<Utc>,
    /// The worker holding the lease, while running.
    pub locked_by: Option<String>,
    /// When the current lease runs out, while running.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Whether cancellation was requested while the job was running.
    pub cancel_requested: bool,
    /// The job this one retries, if it was created by a retry.
    pub retry_of: Option<JobId>,
    /// A caller-chosen id grouping related jobs.
    pub correlation_id: Option<String>,
    /// When the job was created.
    pub created_at: DateTime<Utc>,
    /// When the job last changed (heartbeats included).
    pub updated_at: DateTime<Utc>,
    /// When the current or last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the job finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// The queue the job waits in.
    pub queue: String,
    /// Its priority within the queue: 0 is claimed first, 9 last.
    pub priority: u8,
    /// The unique key the job holds, while it holds it (a key whose scope
    /// is over is dropped when another job takes it).
    pub unique: Option<UniqueKey>,
}
