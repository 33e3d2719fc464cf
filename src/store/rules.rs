//! The transition rules every backend applies, written once.
//!
//! Backends differ in how they read and write; what a job becomes after a
//! failure, a rescue or a retry, and what input is acceptable, is decided
//! here.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{StoreError, StoreResult};
use crate::job::{validate_queue_name, JobId, JobStatus};
use crate::store::{ClaimRequest, FailureKind, JobFilter};
use crate::time;

/// The error of a job whose lease expired with no attempts left.
pub(crate) const RESCUE_FAILED_ERROR: &str =
    "Timeout: job exceeded processing time limit (its lease expired and no attempts remain)";

/// The error recorded on an attempt whose worker stopped heartbeating.
pub(crate) const ATTEMPT_LOST_ERROR: &str =
    "lost: its worker stopped sending heartbeats and its lease expired";

/// The error recorded on a job whose lease expired and which will run again.
pub(crate) const RESCUE_REQUEUED_ERROR: &str =
    "lease expired: the worker stopped sending heartbeats; the job will run again";

/// The most jobs one claim may take.
pub(crate) const MAX_CLAIM_LIMIT: u32 = 1000;

/// The most jobs one prune may delete.
pub(crate) const MAX_PRUNE_LIMIT: u32 = 10_000;

/// Checks a prune before it touches the database: it names how old a
/// finished job must be, asks for finished statuses only, and deletes
/// between 1 and [`MAX_PRUNE_LIMIT`] jobs.
pub(crate) fn validate_prune(filter: &JobFilter, limit: u32) -> StoreResult<()> {
    filter.validate()?;
    if filter.finished_before.is_none() {
        return Err(StoreError::InvalidInput(
            "a prune needs the time finished jobs must be older than (finished_before)".into(),
        ));
    }
    if let Some(status) = filter.statuses.iter().find(|s| !s.is_terminal()) {
        return Err(StoreError::InvalidInput(format!(
            "a prune deletes finished jobs only (completed, failed, cancelled), not {status} ones"
        )));
    }
    if !(1..=MAX_PRUNE_LIMIT).contains(&limit) {
        return Err(StoreError::InvalidInput(format!(
            "prune limit is {limit}; it must be between 1 and {MAX_PRUNE_LIMIT}"
        )));
    }
    Ok(())
}

/// Checks a claim request before it touches the database.
pub(crate) fn validate_claim(request: &ClaimRequest) -> StoreResult<()> {
    validate_lease_holder(&request.worker_id, request.lease_duration)?;
    let limit = request.limit();
    if !(1..=MAX_CLAIM_LIMIT).contains(&limit) {
        return Err(StoreError::InvalidInput(format!(
            "claim limit is {limit}; it must be between 1 and {MAX_CLAIM_LIMIT}"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for queue in &request.queues {
        validate_queue_name(&queue.queue)?;
        if !seen.insert(queue.queue.as_str()) {
            return Err(StoreError::InvalidInput(format!(
                "queue {:?} is named twice in one claim",
                queue.queue
            )));
        }
    }
    Ok(())
}

/// The highest concurrency limit a queue accepts.
pub(crate) const MAX_QUEUE_LIMIT: u32 = 1_000_000;

/// Checks a queue's concurrency limit (`None` is no limit; 0 lets nothing
/// start, like a pause that does not say so).
pub(crate) fn validate_queue_limit(limit: Option<u32>) -> StoreResult<()> {
    match limit {
        Some(limit) if limit > MAX_QUEUE_LIMIT => Err(StoreError::InvalidInput(format!(
            "queue concurrency limit is {limit}; it must be at most {MAX_QUEUE_LIMIT}"
        ))),
        _ => Ok(()),
    }
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
