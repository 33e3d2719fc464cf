//! Running one attempt of a job under supervision: its lease kept, its
//! timeout, cancellation, shutdown, its progress written, and the child
//! processes it started. The worker's loop and a client's inline runs both
//! run their attempts through here.
//!
//! - [`keeper`]: one heartbeat for every lease a worker holds;
//! - [`progress`]: progress reports written at most every quarter second;
//! - [`completer`]: results written alone or together with others;
//! - [`outcome`]: how an attempt ended, written to the store.

pub(crate) mod completer;
pub(crate) mod keeper;
pub(crate) mod outcome;
pub(crate) mod progress;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::{JobContext, JobError, Registry, WorkerConfig};
use crate::store::{Claimed, Failure, JobStore};
use completer::Completer;
use keeper::{LeaseKeeper, Signal};
use outcome::{record, record_failure, AttemptOutcome, Ended};

/// A claimed job, and what running it in the worker needs.
pub(crate) struct Attempt {
    pub store: Arc<dyn JobStore>,
    pub registry: Arc<Registry>,
    pub config: Arc<WorkerConfig>,
    /// Keeps the attempt's lease.
    pub keeper: LeaseKeeper,
    pub claimed: Claimed,
    /// Where the result is written.
    pub completer: Completer,
    /// Cancelled when the worker's shutdown grace runs out (shared by
    /// every attempt: a clone of the token itself would lock it).
    pub hard_stop: Arc<CancellationToken>,
    /// The worker's concurrency slot this attempt holds: freed as soon as
    /// the handler has ended and its processes are dead, before the outcome
    /// is written, so the worker can claim the next job in the same
    /// transaction.
    pub slot: Option<OwnedSemaphorePermit>,
    /// When the attempt started: its timeout counts from here.
    pub started: std::time::Instant,
}

impl Attempt {
    /// Runs the job with its registered handler to its outcome and records
    /// it, inside a span carrying the job's id, type and attempt. `None`
    /// when the result was handed over to the worker's loop, which logs and
    /// counts its outcome once written.
    pub(crate) async fn execute(self) -> Option<AttemptOutcome> {
        let span = job_span(&self.claimed);
        let started = self.started;
        let job_id = self.claimed.job.id;
        async move {
            tracing::info!(%job_id, "started");
            let outcome = self.run().await?;
            let took = started.elapsed();
            match outcome {
                AttemptOutcome::Completed | AttemptOutcome::Released => {
                    tracing::info!("{} in {}", outcome.as_str(), took_text(took))
                }
                _ => tracing::warn!("{} after {}", outcome.as_str(), took_text(took)),
            }
            Some(outcome)
        }
        .instrument(span)
        .await
    }

    async fn run(self) -> Option<AttemptOutcome> {
        let Attempt {
            store,
            registry,
            config,
            keeper,
            claimed,
            completer,
            hard_stop,
            slot,
            started,
        } = self;
        let lease = claimed.lease;
        let job_type = &claimed.job.job_type;
        let Some(handler) = registry.handler(job_type) else {
            let message = format!("no handler registered for job type {job_type}");
            tracing::error!("{message}");
            drop(slot);
            return Some(record_failure(&*store, &lease, Failure::permanent(message)).await);
        };
        let retry = claimed.job.retry_count + 1;
        let params = claimed.job.params.clone();
        let stages = registry.stages(job_type).unwrap_or(&[]);
        let ctx = JobContext::new(
            Arc::clone(&store),
            claimed.job,
            Some(lease),
            stages,
            config.exec_allow.clone(),
        );
        let ended = supervise(
            ctx,
            &config,
            &keeper,
            (started, handler.timeout()),
            &hard_stop,
            |ctx| async move { handler.run(params, &ctx).await },
        )
        .await;
        drop(slot);
        let ended = match ended {
            Ended::Returned(Ok(output)) => {
                match completer.hand_over(&lease, output, started.elapsed()) {
                    Ok(Ok(())) => return None,
                    Ok(Err(error)) => return Some(outcome::store_error("complete", error)),
                    Err(output) => Ended::Returned(Ok(output)),
                }
            }
            other => other,
        };
        Some(record(&*store, &completer, &lease, &config, retry, ended).await)
    }
}

/// The span every event of one attempt is logged in: the job's short id
/// (the random end of its id, as `jobstore watch` shows it), type, queue
/// and attempt; its start event carries the whole id.
pub(crate) fn job_span(claimed: &Claimed) -> tracing::Span {
    // The fields are written only when something listens.
    info_span!(
        "job",
        id = %ShortId(claimed.job.id),
        r#type = %claimed.job.job_type,
        queue = %claimed.job.queue,
        attempt = claimed.lease.attempt
    )
}

/// A job's short id: the random end of its id, as `jobstore watch` shows
/// it.
struct ShortId(crate::job::JobId);

impl std::fmt::Display for ShortId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.0.to_string();
        f.write_str(id.get(id.len().saturating_sub(8)..).unwrap_or(&id))
    }
}

/// How long an attempt took, to the millisecond (seconds past ten).
fn took_text(took: std::time::Duration) -> String {
    if took.as_secs() >= 10 {
        format!("{}s", took.as_secs())
    } else {
        format!("{}ms", took.as_millis())
    }
}

/// `text` on one line: line breaks become ` | `, so that a multi-line error
/// (an `exec` job's stderr tail) stays one log line.
pub(crate) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Runs `handler` with `ctx` until it returns, times out `limit` after it
/// started (the first of `timeout`, read from the clock before), is
/// cancelled (as `keeper` learns on a heartbeat), loses its lease, or
/// `hard_stop` fires. Whatever happened, the handler is then told to stop,
/// its future is dropped, every process it started is stopped and
/// confirmed dead, and its last progress report is written before this
/// returns. A context without a lease (an unpersisted inline run) keeps no
/// lease.
pub(crate) async fn supervise<T, F, Fut>(
    ctx: JobContext,
    config: &WorkerConfig,
    keeper: &LeaseKeeper,
    (started, limit): (std::time::Instant, Duration),
    hard_stop: &CancellationToken,
    handler: F,
) -> Ended<T>
where
    F: FnOnce(JobContext) -> Fut,
    Fut: Future<Output = Result<T, JobError>>,
{
    let mut kept = ctx.lease().map(|lease| keeper.keep(lease));
    let reports = ctx.progress_reports().cloned();
    let handler_run = handler(ctx.clone());
    let mut run = Box::pin(
        match tokio::time::Instant::from_std(started).checked_add(limit) {
            Some(deadline) => timeout_at(deadline, handler_run),
            // Too far off for the clock: as good as never, as it says.
            None => timeout(limit, handler_run),
        },
    );
    let ended = loop {
        let due = reports.as_ref().and_then(|r| r.due());
        // In this order: a handler that ends at once (most do) ends the
        // select before any other branch is polled, so none of them
        // registers a waiter only to take it out again; and an ending
        // that comes together with a cancel request or a shutdown counts
        // as the ending it is.
        tokio::select! {
            biased;
            result = &mut run => break match result {
                Ok(returned) => Ended::Returned(returned),
                Err(_elapsed) => Ended::TimedOut(limit),
            },
            signal = keeper_signal(&mut kept) => match signal {
                Signal::CancelRequested => break Ended::CancelRequested,
                Signal::LeaseLost => break Ended::LeaseLost,
            },
            _ = report_due(due), if due.is_some() => {
                if let Some(reports) = &reports {
                    reports.flush().await;
                }
            },
            _ = report_waiting(&reports), if due.is_none() => {},
            _ = hard_stop.cancelled() => break Ended::Shutdown,
        }
    };
    ctx.stop();
    drop(run);
    let survivors = ctx.children().stop_all(config.kill_grace).await;
    if !survivors.is_empty() {
        tracing::error!(?survivors, "child process groups are still alive");
    }
    if let Some(reports) = &reports {
        reports.flush().await;
    }
    drop(kept.take());
    ended
}

/// The keeper's signal about the lease kept, if any (never without one).
async fn keeper_signal(kept: &mut Option<keeper::Kept>) -> Signal {
    match kept {
        Some(kept) => kept.signal().await,
        None => std::future::pending().await,
    }
}

/// Completes at `due`, when a progress report is due to be written (never
/// without one). A future of its own, so that no timer is made until a
/// report waits.
async fn report_due(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Completes when a progress report starts waiting (never without
/// reports).
async fn report_waiting(reports: &Option<progress::ProgressReports>) {
    match reports {
        Some(reports) => reports.waiting().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_id_is_the_random_end_of_the_id() {
        let id = crate::job::JobId::new_at(chrono::Utc::now());
        let whole = id.to_string();
        assert_eq!(ShortId(id).to_string(), whole[whole.len() - 8..]);
    }
}
