//! How one attempt of a job ended, and writing that to the store.

use std::time::Duration;

use super::completer::Completer;
use crate::store::{FailOutcome, Failure, JobStore, Lease};
use crate::worker::{JobError, JobErrorKind, WorkerConfig};

/// How one attempt ended, as recorded in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The handler returned a result.
    Completed,
    /// The attempt failed and the job will run again.
    Retrying,
    /// The job failed for good.
    Failed,
    /// The job was cancelled while it ran.
    Cancelled,
    /// The worker shut down and put the job back to pending.
    Released,
    /// The lease was lost (the job was rescued): nothing was written.
    LeaseLost,
    /// Writing the outcome failed; the lease will expire and the job be
    /// rescued.
    StoreError,
}

impl AttemptOutcome {
    /// How the attempt ended, in a word or two.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Completed => "completed",
            AttemptOutcome::Retrying => "failed, will retry",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Cancelled => "cancelled",
            AttemptOutcome::Released => "released (shutdown)",
            AttemptOutcome::LeaseLost => "abandoned (lease lost)",
            AttemptOutcome::StoreError => "not recorded (store error)",
        }
    }
}

/// Why a supervised handler stopped.
#[derive(Debug)]
pub(crate) enum Ended<T> {
    /// The handler returned.
    Returned(Result<T, JobError>),
    /// The handler ran past its time limit.
    TimedOut(Duration),
    /// Someone asked to cancel the job.
    CancelRequested,
    /// The worker is shutting down and the grace period ran out.
    Shutdown,
    /// The job was rescued from under this attempt.
    LeaseLost,
}

impl<T> Ended<T> {
    /// Converts a returned output, leaving every other ending as it is; an
    /// `Err` from `convert` becomes the handler's error.
    pub(crate) fn map_output<U>(self, convert: impl FnOnce(T) -> Result<U, JobError>) -> Ended<U> {
        match self {
            Ended::Returned(Ok(output)) => Ended::Returned(convert(output)),
            Ended::Returned(Err(e)) => Ended::Returned(Err(e)),
            Ended::TimedOut(limit) => Ended::TimedOut(limit),
            Ended::CancelRequested => Ended::CancelRequested,
            Ended::Shutdown => Ended::Shutdown,
            Ended::LeaseLost => Ended::LeaseLost,
        }
    }

    /// Why the attempt did not produce an output, as a handler error.
    pub(crate) fn error(&self) -> Option<JobError> {
        match self {
            Ended::Returned(Ok(_)) => None,
            Ended::Returned(Err(e)) => Some(e.clone()),
            Ended::TimedOut(limit) => {
                Some(JobError::transient(format!("timed out after {limit:?}")))
            }
            Ended::CancelRequested => Some(JobError::permanent("cancelled while running")),
            Ended::Shutdown => Some(JobError::transient(
                "stopped: the worker shut down before the job finished",
            )),
            Ended::LeaseLost => Some(JobError::transient(
                "the lease was lost: the job was rescued by another worker",
            )),
        }
    }
}

/// Writes how the attempt holding `lease` ended (a result through
/// `completer`). A transient failure is retried after the backoff for retry
/// number `retry`.
pub(crate) async fn record(
    store: &dyn JobStore,
    completer: &Completer,
    lease: &Lease,
    config: &WorkerConfig,
    retry: u32,
    ended: Ended<serde_json::Value>,
) -> AttemptOutcome {
    match ended {
        Ended::Returned(Ok(output)) => match completer.complete(lease, output).await {
            Ok(()) => AttemptOutcome::Completed,
            Err(e) => store_error("complete", e),
        },
        Ended::CancelRequested => match store.mark_cancelled(lease).await {
            Ok(()) => AttemptOutcome::Cancelled,
            Err(e) => store_error("mark cancelled", e),
        },
        Ended::Shutdown => match store.release(lease).await {
            Ok(()) => AttemptOutcome::Released,
            Err(e) => store_error("release", e),
        },
        Ended::LeaseLost => {
            tracing::warn!("lease lost (the job was rescued); abandoning this attempt");
            AttemptOutcome::LeaseLost
        }
        failed @ (Ended::Returned(Err(_)) | Ended::TimedOut(_)) => {
            let Some(error) = failed.error() else {
                return AttemptOutcome::Failed;
            };
            tracing::warn!(
                "attempt failed ({}): {}",
                match error.kind() {
                    JobErrorKind::Permanent => "permanent",
                    JobErrorKind::Transient => "transient",
                },
                super::one_line(&error.to_string())
            );
            let failure = match error.kind() {
                JobErrorKind::Permanent => Failure::permanent(error.message()),
                JobErrorKind::Transient => {
                    Failure::transient(error.message()).retry_after(config.backoff.delay(retry))
                }
            };
            record_failure(store, lease, failure).await
        }
    }
}

/// Writes a failed attempt.
pub(crate) async fn record_failure(
    store: &dyn JobStore,
    lease: &Lease,
    failure: Failure,
) -> AttemptOutcome {
    match store.fail(lease, &failure).await {
        Ok(FailOutcome::Retrying { .. }) => AttemptOutcome::Retrying,
        Ok(FailOutcome::Failed) => AttemptOutcome::Failed,
        Ok(FailOutcome::Cancelled) => AttemptOutcome::Cancelled,
        Err(e) => store_error("record failure", e),
    }
}

/// The outcome of an attempt whose `action` the store refused or failed,
/// logged.
pub(crate) fn store_error(action: &str, error: crate::StoreError) -> AttemptOutcome {
    if error.is_lease_lost() {
        tracing::warn!(error = %error, "{action} refused: the lease was lost");
        AttemptOutcome::LeaseLost
    } else {
        tracing::error!(error = %super::one_line(&error.to_string()), "{action} failed");
        AttemptOutcome::StoreError
    }
}
