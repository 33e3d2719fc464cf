//! Running one attempt of a job under supervision: its heartbeats, its
//! timeout, cancellation, shutdown, and the child processes it started.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{interval_at, timeout, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::completer::Completer;
use super::outcome::{record, record_failure, AttemptOutcome, Ended};
use super::{JobContext, JobError, Registry, WorkerConfig};
use crate::store::{Claimed, Failure, JobStore};

/// A claimed job, and what running it in the worker needs.
pub(crate) struct Attempt {
    pub store: Arc<dyn JobStore>,
    pub registry: Arc<Registry>,
    pub config: Arc<WorkerConfig>,
    pub claimed: Claimed,
    /// Where the result is written.
    pub completer: Completer,
    /// Cancelled when the worker's shutdown grace runs out.
    pub hard_stop: CancellationToken,
    /// The worker's concurrency slot this attempt holds: freed as soon as
    /// the handler has ended and its processes are dead, before the outcome
    /// is written, so the worker can claim the next job in the same
    /// transaction.
    pub slot: Option<OwnedSemaphorePermit>,
}

impl Attempt {
    /// Runs the job with its registered handler to its outcome and records
    /// it, inside a span carrying the job's id, type and attempt.
    pub(crate) async fn execute(self) -> AttemptOutcome {
        let span = job_span(&self.claimed);
        self.run().instrument(span).await
    }

    async fn run(self) -> AttemptOutcome {
        let Attempt {
            store,
            registry,
            config,
            claimed,
            completer,
            hard_stop,
            slot,
        } = self;
        let lease = claimed.lease;
        let job_type = claimed.job.job_type.clone();
        let Some(handler) = registry.handler(&job_type) else {
            let message = format!("no handler registered for job type {job_type}");
            tracing::error!("{message}");
            drop(slot);
            return record_failure(&*store, &lease, Failure::permanent(message)).await;
        };
        let retry = claimed.job.retry_count + 1;
        let params = claimed.job.params.clone();
        let stages = registry.stages(&job_type).unwrap_or(&[]);
        let ctx = JobContext::new(Arc::clone(&store), claimed.job, Some(lease), stages);
        let ended = supervise(
            ctx,
            &config,
            handler.timeout(),
            &hard_stop,
            |ctx| async move { handler.run(params, &ctx).await },
        )
        .await;
        drop(slot);
        record(&*store, &completer, &lease, &config, retry, ended).await
    }
}

/// The span every event of one attempt is logged in.
pub(crate) fn job_span(claimed: &Claimed) -> tracing::Span {
    info_span!(
        "job",
        job.id = %claimed.job.id,
        job.job_type = %claimed.job.job_type,
        job.attempt = claimed.lease.attempt
    )
}

/// Runs `handler` with `ctx` until it returns, times out after `limit`, is
/// cancelled (noticed on a heartbeat), loses its lease, or `hard_stop`
/// fires. Whatever happened, the handler is then told to stop, its future
/// is dropped, and every process it started is stopped and confirmed dead
/// before this returns. A context without a lease (an unpersisted inline
/// run) sends no heartbeats.
pub(crate) async fn supervise<T, F, Fut>(
    ctx: JobContext,
    config: &WorkerConfig,
    limit: Duration,
    hard_stop: &CancellationToken,
    handler: F,
) -> Ended<T>
where
    F: FnOnce(JobContext) -> Fut,
    Fut: Future<Output = Result<T, JobError>>,
{
    let store = Arc::clone(ctx.store());
    let lease = ctx.lease();
    let mut run = Box::pin(timeout(limit, handler(ctx.clone())));
    // The claim itself just set the lease: the first beat is one interval
    // away. (Awaiting an interval's immediate first tick instead would wait
    // for the timer's next millisecond.)
    let first_beat = Instant::now() + config.heartbeat_interval;
    let mut beat = interval_at(first_beat, config.heartbeat_interval);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);

    let ended = loop {
        tokio::select! {
            result = &mut run => break match result {
                Ok(returned) => Ended::Returned(returned),
                Err(_elapsed) => Ended::TimedOut(limit),
            },
            _ = beat.tick(), if lease.is_some() => {
                let Some(lease) = lease else { continue };
                match store.heartbeat(&lease, config.lease_duration).await {
                    Ok(heartbeat) if heartbeat.cancel_requested => break Ended::CancelRequested,
                    Ok(_) => {}
                    Err(e) if e.is_lease_lost() => break Ended::LeaseLost,
                    Err(e) => tracing::warn!(error = %e, "heartbeat failed; will try again"),
                }
            },
            _ = hard_stop.cancelled() => break Ended::Shutdown,
        }
    };
    ctx.stop();
    drop(run);
    let survivors = ctx.children().stop_all(config.kill_grace).await;
    if !survivors.is_empty() {
        tracing::error!(?survivors, "child process groups are still alive");
    }
    ended
}
