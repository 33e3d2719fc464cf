//! A worker's main loop: it hands back the jobs that finished and claims
//! the next ones in one transaction, runs its chores (rescue, cron), and
//! shuts down gracefully.
//!
//! Concurrency is counted in slots: an attempt holds one while its handler
//! runs and frees it as soon as the handler has ended, before its outcome
//! is written. Completions then wait for the loop, which writes every one
//! that is waiting together with a claim for every free slot: under load a
//! worker commits once per round of jobs instead of twice per job, and a
//! slot is refilled in the very transaction that records its last job.
//!
//! Jobs claimed together tend to finish together: when the first of a
//! round's jobs reports, the loop lets the others of that round (started
//! moments ago) report too, for at most [`GATHER_WINDOW`] after they were
//! started, so short jobs share one transaction instead of splitting the
//! worker into cohorts that take turns.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;

use super::completer::{self, Completer, Pending, MAX_GROUP};
use super::{AttemptOutcome, RunSummary, Worker};
use crate::store::Claimed;

/// How long after starting a round of jobs the loop waits for more of
/// them to report before writing the results it has.
const GATHER_WINDOW: Duration = Duration::from_micros(100);

/// The state of one [`Worker::run`].
pub(super) struct RunLoop<'w> {
    worker: &'w Worker,
    slots: Arc<Semaphore>,
    completer: Completer,
    finished: mpsc::UnboundedReceiver<Pending>,
    group: Vec<Pending>,
    running: JoinSet<AttemptOutcome>,
    hard_stop: CancellationToken,
    summary: RunSummary,
    /// When the loop last started jobs.
    last_start: Instant,
}

impl<'w> RunLoop<'w> {
    pub(super) fn new(worker: &'w Worker) -> Self {
        let (completer, finished) = Completer::channel();
        RunLoop {
            worker,
            slots: Arc::new(Semaphore::new(worker.config.concurrency)),
            completer,
            finished,
            group: Vec::new(),
            running: JoinSet::new(),
            hard_stop: CancellationToken::new(),
            summary: RunSummary::default(),
            last_start: Instant::now(),
        }
    }

    /// Works until `shutdown` is cancelled, then drains.
    pub(super) async fn run(mut self, shutdown: CancellationToken) -> RunSummary {
        let config = Arc::clone(&self.worker.config);
        let mut idle_wait = config.poll_interval;
        // Whether the queue may hold jobs to claim: false after a claim got
        // fewer than it asked for, until woken or the next poll.
        let mut look = true;
        let mut next_rescue = Instant::now();
        let mut next_cron = Instant::now();

        while !shutdown.is_cancelled() {
            self.worker.mark_loop_alive();
            if Instant::now() >= next_rescue {
                self.summary.rescued += self.worker.rescue().await;
                next_rescue = Instant::now() + config.rescue_interval;
            }
            if let Some(interval) = config.cron_interval {
                if Instant::now() >= next_cron {
                    let (fired, wait) = self.worker.fire_schedules(interval).await;
                    self.summary.cron_fired += fired;
                    next_cron = Instant::now() + wait;
                }
            }
            let want = if look {
                self.slots.available_permits()
            } else {
                0
            };
            if want > 0 || !self.group.is_empty() {
                if let Some(claimed) = self.exchange(want).await {
                    if want > 0 {
                        if claimed > 0 {
                            idle_wait = config.poll_interval;
                        }
                        look = claimed == want;
                    }
                }
            }
            let mut until_chore = next_rescue.saturating_duration_since(Instant::now());
            if config.cron_interval.is_some() {
                until_chore = until_chore.min(next_cron.saturating_duration_since(Instant::now()));
            }
            tokio::select! {
                _ = self.finished.recv_many(&mut self.group, MAX_GROUP) => {}
                Some(done) = self.running.join_next(), if !self.running.is_empty() => {
                    self.summary.record_task(done);
                    while let Some(done) = self.running.try_join_next() {
                        self.summary.record_task(done);
                    }
                }
                _ = self.worker.wake.notified() => {
                    idle_wait = config.poll_interval;
                    look = true;
                }
                _ = sleep(idle_wait.min(until_chore)) => {
                    idle_wait = (idle_wait * 2).min(config.max_poll_interval);
                    look = true;
                }
                _ = shutdown.cancelled() => {}
            }
            self.gather().await;
        }
        self.drain(config.shutdown_grace).await
    }

    /// Claims nothing more: writes the outcomes of the running attempts as
    /// they finish, within `grace`, then stops the rest (they put their jobs
    /// back to pending).
    async fn drain(mut self, grace: Duration) -> RunSummary {
        tracing::info!(running = self.running.len(), "shutting down: no new claims");
        let grace = sleep(grace);
        tokio::pin!(grace);
        loop {
            if !self.group.is_empty() {
                self.exchange(0).await;
                continue;
            }
            if self.running.is_empty() {
                break;
            }
            tokio::select! {
                _ = self.finished.recv_many(&mut self.group, MAX_GROUP) => {}
                Some(done) = self.running.join_next() => self.summary.record_task(done),
                _ = &mut grace, if !self.hard_stop.is_cancelled() => {
                    tracing::warn!(running = self.running.len(), "grace period over: stopping running jobs");
                    self.hard_stop.cancel();
                }
            }
        }
        self.summary
    }

    /// Writes the completions waiting and claims up to `want` jobs, in one
    /// transaction; starts what it claimed and returns how many, or `None`
    /// when the store failed (the completions' attempts are told).
    async fn exchange(&mut self, want: usize) -> Option<usize> {
        let (completions, replies) = completer::take(&mut self.group);
        let count = completions.len();
        let store = &self.worker.store;
        let written = if want > 0 {
            let request = self.worker.claim_request(want);
            store
                .complete_and_claim(completions, &request)
                .await
                .map(|exchange| (exchange.completed, exchange.claimed))
        } else {
            store
                .complete_many(completions)
                .await
                .map(|completed| (completed, Vec::new()))
        };
        match written {
            Ok((completed, claimed)) => {
                replies.answer(Ok(completed));
                let n = claimed.len();
                self.summary.claimed += n as u64;
                for job in claimed {
                    self.start(job);
                }
                if n > 0 {
                    self.last_start = Instant::now();
                }
                Some(n)
            }
            Err(error) => {
                // The claim is tried again; the attempts whose results were
                // in this group learn of the error, and their jobs are
                // rescued once their leases expire.
                tracing::error!(%error, completions = count, claim = want, "writing completions and claiming failed");
                replies.answer(Err(error));
                sleep(Duration::from_millis(100)).await;
                None
            }
        }
    }

    /// Takes every completion already sent and, while jobs started less
    /// than [`GATHER_WINDOW`] ago still hold slots, yields to let them run
    /// and report too. Jobs that take longer are not waited for.
    async fn gather(&mut self) {
        loop {
            while let Ok(pending) = self.finished.try_recv() {
                self.group.push(pending);
            }
            let held = self
                .worker
                .config
                .concurrency
                .saturating_sub(self.slots.available_permits());
            if self.group.is_empty() || held == 0 || self.last_start.elapsed() >= GATHER_WINDOW {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    /// Runs a claimed job in a slot of its own.
    fn start(&mut self, claimed: Claimed) {
        // Only this loop takes slots, and it claims no more than are free.
        let slot = Arc::clone(&self.slots).try_acquire_owned().ok();
        if slot.is_none() {
            tracing::warn!(job_id = %claimed.job.id, "claimed a job with no free slot");
        }
        let attempt = self
            .worker
            .attempt(claimed, &self.completer, &self.hard_stop, slot);
        self.running.spawn(attempt);
    }
}
