//! Running one claimed job to its outcome: the handler, its heartbeats,
//! its timeout, cancellation and shutdown.

use std::sync::Arc;

use tokio::time::{interval, timeout, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::children::Children;
use super::{JobContext, JobError, JobErrorKind, Registry, WorkerConfig};
use crate::store::{Claimed, FailOutcome, Failure, JobStore};

/// How one attempt ended, as far as the worker is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
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

/// Why the handler stopped before it returned.
enum Stop {
    CancelRequested,
    Shutdown,
    LeaseLost,
}

/// One claimed job, and what running it needs.
pub(crate) struct Attempt {
    pub store: Arc<dyn JobStore>,
    pub registry: Arc<Registry>,
    pub config: Arc<WorkerConfig>,
    pub claimed: Claimed,
    /// Cancelled when the worker's shutdown grace runs out.
    pub hard_stop: CancellationToken,
}

impl Attempt {
    /// Runs the job to its outcome and records it in the store, inside a
    /// span carrying the job's id, type and attempt.
    pub(crate) async fn execute(self) -> Outcome {
        let span = info_span!(
            "job",
            job.id = %self.claimed.job.id,
            job.job_type = %self.claimed.job.job_type,
            job.attempt = self.claimed.lease.attempt
        );
        self.run().instrument(span).await
    }

    async fn run(self) -> Outcome {
        let Attempt {
            store,
            registry,
            config,
            claimed,
            hard_stop,
        } = self;
        let lease = claimed.lease;
        let Some(handler) = registry.handler(&claimed.job.job_type) else {
            let message = format!(
                "no handler registered for job type {}",
                claimed.job.job_type
            );
            tracing::error!("{message}");
            return record_failure(&*store, &lease, Failure::permanent(message)).await;
        };
        let cancel = CancellationToken::new();
        let children = Children::default();
        let retry = claimed.job.retry_count + 1;
        let params = claimed.job.params.clone();
        let stages = registry.stages(&claimed.job.job_type).unwrap_or(&[]);
        let ctx = JobContext::new(
            Arc::clone(&store),
            claimed.job,
            lease,
            stages,
            cancel.clone(),
            children.clone(),
        );
        let limit = handler.timeout();
        let mut run = Box::pin(timeout(limit, handler.run(params, &ctx)));
        let mut beat = interval(config.heartbeat_interval);
        beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        beat.tick().await; // the claim itself just set the lease

        let finished = loop {
            tokio::select! {
                result = &mut run => break Ok(result),
                _ = beat.tick() => match store.heartbeat(&lease, config.lease_duration).await {
                    Ok(heartbeat) if heartbeat.cancel_requested => break Err(Stop::CancelRequested),
                    Ok(_) => {}
                    Err(e) if e.is_lease_lost() => break Err(Stop::LeaseLost),
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed; will try again"),
                },
                _ = hard_stop.cancelled() => break Err(Stop::Shutdown),
            }
        };
        // Whatever happened, the handler is told to stop, its future is
        // dropped, and every process it started is stopped and confirmed dead
        // before the outcome is written.
        cancel.cancel();
        drop(run);
        let survivors = children.stop_all(config.kill_grace).await;
        if !survivors.is_empty() {
            tracing::error!(?survivors, "child process groups are still alive");
        }

        match finished {
            Ok(Ok(Ok(output))) => match store.complete(&lease, output).await {
                Ok(()) => Outcome::Completed,
                Err(e) => store_error("complete", e),
            },
            Ok(Ok(Err(error))) => record_error(&*store, &lease, &error, &config, retry).await,
            Ok(Err(_elapsed)) => {
                // A timeout counts as a transient failure.
                let error = JobError::transient(format!("timed out after {limit:?}"));
                record_error(&*store, &lease, &error, &config, retry).await
            }
            Err(Stop::CancelRequested) => match store.mark_cancelled(&lease).await {
                Ok(()) => Outcome::Cancelled,
                Err(e) => store_error("mark cancelled", e),
            },
            Err(Stop::Shutdown) => match store.release(&lease).await {
                Ok(()) => Outcome::Released,
                Err(e) => store_error("release", e),
            },
            Err(Stop::LeaseLost) => {
                tracing::warn!("lease lost (the job was rescued); abandoning this attempt");
                Outcome::LeaseLost
            }
        }
    }
}

/// Records a handler error: a permanent one fails the job, a transient one
/// is retried after the backoff for retry number `retry`.
async fn record_error(
    store: &dyn JobStore,
    lease: &crate::store::Lease,
    error: &JobError,
    config: &WorkerConfig,
    retry: u32,
) -> Outcome {
    tracing::warn!(error = %error, kind = ?error.kind(), "attempt failed");
    let failure = match error.kind() {
        JobErrorKind::Permanent => Failure::permanent(error.message()),
        JobErrorKind::Transient => {
            Failure::transient(error.message()).retry_after(config.backoff.delay(retry))
        }
    };
    record_failure(store, lease, failure).await
}

async fn record_failure(
    store: &dyn JobStore,
    lease: &crate::store::Lease,
    failure: Failure,
) -> Outcome {
    match store.fail(lease, &failure).await {
        Ok(FailOutcome::Retrying { .. }) => Outcome::Retrying,
        Ok(FailOutcome::Failed) => Outcome::Failed,
        Ok(FailOutcome::Cancelled) => Outcome::Cancelled,
        Err(e) => store_error("record failure", e),
    }
}

fn store_error(action: &str, error: crate::StoreError) -> Outcome {
    if error.is_lease_lost() {
        tracing::warn!(error = %error, "{action} refused: the lease was lost");
        Outcome::LeaseLost
    } else {
        tracing::error!(error = %error, "{action} failed");
        Outcome::StoreError
    }
}
