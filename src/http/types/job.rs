//! A job as the API shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobId, JobStatus};

/// One job: what `GET /jobs/{id}` answers, and each entry of a listing.
///
/// Poll it for a job's state: `status`, the `stage` it reports,
/// `progress` within the stage (`null` when the stage cannot measure one:
/// show an indeterminate indicator, not a number), `queue_position` while
/// pending, and `result` or `error` once it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResponse {
    /// The job's id.
    pub id: JobId,
    /// The job type.
    pub job_type: String,
    /// Where the job is in its life.
    pub status: JobStatus,
    /// The stage last reported while running.
    pub stage: Option<String>,
    /// Percent within `stage`, 0 to 100; `null` when indeterminate.
    pub progress: Option<f32>,
    /// Jobs of its queue that will start before it (due, and ahead in
    /// claim order); `null` when not pending, or pending but scheduled
    /// (`run_at` still in the future: show "scheduled" and `run_at`).
    pub queue_position: Option<u64>,
    /// The queue it waits in.
    pub queue: String,
    /// Its priority within the queue: 0 first, 9 last.
    pub priority: u8,
    /// The unique key it holds, while it holds it.
    pub unique_key: Option<String>,
    /// Whether cancellation was requested while it runs.
    pub cancel_requested: bool,
    /// Attempts started so far.
    pub attempt: u32,
    /// Attempts that may fail before the job fails for good.
    pub max_attempts: u32,
    /// Failed attempts that were retried.
    pub retry_count: u32,
    /// The job's input.
    pub params: serde_json::Value,
    /// The output, once completed.
    pub result: Option<serde_json::Value>,
    /// The last error: why an attempt failed, or why the job failed.
    pub error: Option<String>,
    /// The caller's id grouping related jobs.
    pub correlation_id: Option<String>,
    /// The job this one retries.
    pub retry_of: Option<JobId>,
    /// The worker running it.
    pub worker: Option<String>,
    /// Not claimable before this instant.
    pub run_at: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the current or last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
}

impl JobResponse {
    /// The job as the API shows it, with its queue position (for a pending
    /// job).
    pub fn new(job: Job, queue_position: Option<u64>) -> Self {
        JobResponse {
            id: job.id,
            job_type: job.job_type,
            status: job.status,
            stage: job.stage,
            progress: job.progress,
            queue_position,
            queue: job.queue,
            priority: job.priority,
            unique_key: job.unique.map(|u| u.key),
            cancel_requested: job.cancel_requested,
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            retry_count: job.retry_count,
            params: job.params,
            result: job.result,
            error: job.error,
            correlation_id: job.correlation_id,
            retry_of: job.retry_of,
            worker: job.locked_by,
            run_at: job.run_at,
            created_at: job.created_at,
            updated_at: job.updated_at,
            started_at: job.started_at,
            completed_at: job.completed_at,
        }
    }
}

/// One page of `GET /jobs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobListResponse {
    /// The jobs, newest first.
    pub jobs: Vec<JobResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<JobId>,
}
