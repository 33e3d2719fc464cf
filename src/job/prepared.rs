//! A new job checked and turned into the record a store keeps: the one
//! place every backend (and cron) makes a job from what a caller submits.

use chrono::{DateTime, Utc};

use super::{Job, JobId, JobStatus, NewJob};
use crate::error::{StoreError, StoreResult};
use crate::time;

/// A validated job, ready to insert.
#[derive(Clone, Debug)]
pub(crate) struct PreparedJob {
    /// The record as it will be stored.
    pub job: Job,
    /// `job.params` serialized, as stored.
    pub params_json: String,
}

/// Validates `new` and builds the record a backend stores for it, created
/// at `now`; `retry_of` names the job it retries, if any.
pub(crate) fn prepare(
    new: &NewJob,
    now: DateTime<Utc>,
    retry_of: Option<JobId>,
) -> StoreResult<PreparedJob> {
    new.validate()?;
    let params_json = serde_json::to_string(&new.params)
        .map_err(|e| StoreError::InvalidInput(format!("params are not valid JSON: {e}")))?;
    if params_json.len() > NewJob::MAX_PARAMS_BYTES {
        return Err(StoreError::InvalidInput(format!(
            "params are {} bytes of JSON; at most {} are allowed",
            params_json.len(),
            NewJob::MAX_PARAMS_BYTES
        )));
    }
    let now = time::truncate(now);
    let run_at = time::truncate(new.claimable_at(now)?);
    let job = Job {
        id: JobId::new_at(now),
        job_type: new.job_type.clone(),
        status: JobStatus::Pending,
        stage: None,
        progress: None,
        params: new.params.clone(),
        result: None,
        error: None,
        retry_count: 0,
        max_attempts: new.max_attempts,
        attempt: 0,
        run_at,
        locked_by: None,
        lease_expires_at: None,
        cancel_requested: false,
        retry_of,
        correlation_id: new.correlation_id.clone(),
        created_at: now,
        updated_at: now,
        started_at: None,
        completed_at: None,
        queue: new.queue_or_default().to_string(),
        priority: new.priority,
        unique: new.unique.clone(),
    };
    Ok(PreparedJob { job, params_json })
}

/// The new job that retries `original`, or why it cannot be retried: only
/// a failed or cancelled job can.
pub(crate) fn retry_of(original: &Job) -> StoreResult<NewJob> {
    if !matches!(original.status, JobStatus::Failed | JobStatus::Cancelled) {
        return Err(StoreError::InvalidTransition {
            id: original.id,
            action: "retry",
            status: original.status,
        });
    }
    let mut new = NewJob::new(original.job_type.clone(), original.params.clone())
        .max_attempts(original.max_attempts)
        .queue(original.queue.clone())
        .priority(original.priority);
    new.correlation_id = original.correlation_id.clone();
    Ok(new)
}
