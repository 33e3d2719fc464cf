//! The transition rules every backend applies, written once.
//!
//! Backends differ in how they read and write; what a job becomes after a
//! failure, a rescue or a retry, and what input is acceptable, is decided
//! here.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, JobStatus, NewJob};
use crate::store::{ClaimRequest, FailureKind};
use crate::time;

/// The error of a job whose lease expired with no attempts left.
pub(crate) const RESCUE_FAILED_ERROR: &str =
    "Timeout: job exceeded processing time limit (its lease expired and no attempts remain)";

/// The error recorded on a job whose lease expired and which will run again.
pub(crate) const RESCUE_REQUEUED_ERROR: &str =
    "lease expired: the worker stopped sending heartbeats; the job will run again";

/// The most jobs one claim may take.
pub(crate) const MAX_CLAIM_LIMIT: u32 = 1000;

/// A validated job, ready to insert.
pub(crate) struct PreparedJob {
    /// The record as it will be stored.
    pub job: Job,
    /// `job.params` serialized, as stored.
    pub params_json: String,
}

/// Validates `new` and builds the record a backend stores for it.
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
    };
    Ok(PreparedJob { job, params_json })
}

/// The new job that retries `original`, or why it cannot be retried.
pub(crate) fn retry_of(original: &Job) -> StoreResult<NewJob> {
    if !matches!(original.status, JobStatus::Failed | JobStatus::Cancelled) {
        return Err(StoreError::InvalidTransition {
            id: original.id,
            action: "retry",
            status: original.status,
        });
    }
    let mut new = NewJob::new(original.job_type.clone(), original.params.clone())
        .max_attempts(original.max_attempts);
    new.correlation_id = original.correlation_id.clone();
    Ok(new)
}

/// Checks a claim request before it touches the database.
pub(crate) fn validate_claim(request: &ClaimRequest) -> StoreResult<()> {
    validate_lease_holder(&request.worker_id, request.lease_duration)?;
    if !(1..=MAX_CLAIM_LIMIT).contains(&request.limit) {
        return Err(StoreError::InvalidInput(format!(
            "claim limit is {}; it must be between 1 and {MAX_CLAIM_LIMIT}",
            request.limit
        )));
    }
    Ok(())
}

/// Checks who claims and for how long, before anything is claimed.
pub(crate) fn validate_lease_holder(worker_id: &str, lease_duration: Duration) -> StoreResult<()> {
    if worker_id.trim().is_empty() {
        return Err(StoreError::InvalidInput(
            "worker id must not be empty".into(),
        ));
    }
    if lease_duration.is_zero() {
        return Err(StoreError::InvalidInput(
            "lease duration must be longer than zero".into(),
        ));
    }
    Ok(())
}

/// The error for a worker write whose lease does not match the job as
/// stored (`status`, `current_attempt`).
pub(crate) fn lease_lost(
    id: JobId,
    attempt: u32,
    status: JobStatus,
    current_attempt: u32,
) -> StoreError {
    StoreError::LeaseLost {
        id,
        attempt,
        current_attempt,
        status,
    }
}

/// Whether a worker holding `attempt` may write to a job stored as
/// (`status`, `current_attempt`).
pub(crate) fn holds_lease(attempt: u32, status: JobStatus, current_attempt: u32) -> bool {
    status == JobStatus::Running && attempt == current_attempt
}

/// What a job becomes after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Back to pending, claimable at `run_at`.
    Retry {
        run_at: DateTime<Utc>,
        retry_count: u32,
    },
    /// Failed for good.
    Fail,
    /// Cancelled, because cancellation was requested.
    Cancel,
}

impl AfterFailure {
    /// What a backend writes for this decision about a job stored with
    /// `run_at` (milliseconds) and `retry_count`: the new status, what the
    /// worker is told, and the run_at and retry_count to store.
    pub(crate) fn applied(
        self,
        run_at: i64,
        retry_count: u32,
    ) -> (JobStatus, crate::store::FailOutcome, i64, u32) {
        use crate::store::FailOutcome;
        match self {
            AfterFailure::Retry {
                run_at,
                retry_count,
            } => (
                JobStatus::Pending,
                FailOutcome::Retrying {
                    run_at,
                    retry_count,
                },
                time::to_millis(run_at),
                retry_count,
            ),
            AfterFailure::Fail => (JobStatus::Failed, FailOutcome::Failed, run_at, retry_count),
            AfterFailure::Cancel => (
                JobStatus::Cancelled,
                FailOutcome::Cancelled,
                run_at,
                retry_count,
            ),
        }
    }
}

/// Decides what a failed attempt leads to.
pub(crate) fn after_failure(
    retry_count: u32,
    max_attempts: u32,
    cancel_requested: bool,
    kind: FailureKind,
    now: DateTime<Utc>,
) -> StoreResult<AfterFailure> {
    if cancel_requested {
        return Ok(AfterFailure::Cancel);
    }
    match kind {
        FailureKind::Permanent => Ok(AfterFailure::Fail),
        FailureKind::Transient { delay } => {
            if retry_count.saturating_add(1) < max_attempts {
                Ok(AfterFailure::Retry {
                    run_at: time::truncate(time::add(now, delay)?),
                    retry_count: retry_count + 1,
                })
            } else {
                Ok(AfterFailure::Fail)
            }
        }
    }
}

/// How many times each type occurs in `types`.
pub(crate) fn count_types(types: impl IntoIterator<Item = String>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for job_type in types {
        *counts.entry(job_type).or_default() += 1;
    }
    counts
}
