//! A worker's main loop: it hands back the jobs that finished and claims
//! the next ones in one round trip, keeps an eye on its chores (expired
//! leases to rescue, cron ticks to fire), and shuts down gracefully.
//!
//! Concurrency is counted in slots, per queue served: an attempt holds one
//! of its queue's while its handler
//! runs and frees it as soon as the handler has ended, before its outcome
//! is written. Completions then wait for the loop, which writes every one
//! that is waiting together with a claim for every free slot: under load a
//! worker commits once per round of jobs instead of twice per job, and a
//! slot is refilled in the very transaction that records its last job.
//!
//! Jobs claimed together tend to finish together: for at most
//! [`GATHER_WINDOW`] after starting a round, the loop waits for its jobs to
//! report, yielding its core rather than going to sleep, so short jobs
//! share one transaction instead of splitting the worker into cohorts that
//! take turns, and the loop is not put to sleep and woken again for each
//! round (on a small machine, being woken costs more than a no-op job).
//!
//! A claimed job starts on the loop's own thread when its type has been
//! quick to reach its first `.await` that waits (see
//! [`first_poll`](super::first_poll)): a no-op job then reports before
//! the loop moves on, with no other thread woken for it.
//!
//! Chores ride on the claims: an idle worker's poll, and at most one round
//! a second of a busy one, also reads whether a lease expired, when the
//! next cron tick is due and when the next pending job becomes claimable
//! ([`JobStore::poll`](crate::JobStore::poll)), so an idle worker sends one
//! request per poll, rescues and fires only when there is something to
//! rescue or fire, and wakes when a delayed job is due.
//!
//! On a store with a change feed (a local file), an idle worker also wakes
//! at every commit of any process, asks whether a job is claimable (a read,
//! no write lock), and claims it if so: a job enqueued elsewhere starts
//! within a millisecond or two, however long the worker was idle.
//!
//! A round that fails to be written (the database unreachable for a
//! moment) is written again, with its completions, after a pause that
//! grows to two seconds, for as long as the leases of its jobs last: a
//! server restart delays results, it does not lose them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::attempt::completer::{self, Completer, Pending, MAX_GROUP};
use super::first_poll::{self, FirstPolls, Inline, Measured};
use super::{AttemptOutcome, RunSummary, Worker};
use crate::error::StoreError;
use crate::store::{Changes, Chores, Claimed, Polled};

/// How long after starting a round of jobs the loop waits for more of
/// them to report before writing the results it has.
const GATHER_WINDOW: Duration = Duration::from_micros(100);

/// The first pause before a failed round is written again.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// The longest pause between two tries of a failed round.
const MAX_RETRY: Duration = Duration::from_secs(2);

/// The shortest wait for a cron tick (a tick that is due but fired nothing
/// is not tried again at once).
const MIN_TICK_WAIT: Duration = Duration::from_millis(10);

/// A round that failed to be written, tried again until its leases lapse.
struct Retry {
    since: Instant,
    pause: Duration,
    next: Instant,
}

/// The state of one [`Worker::run`].
pub(super) struct RunLoop<'w> {
    worker: &'w Worker,
    /// Each queue served, with its slots.
    slots: Vec<(String, Arc<Semaphore>)>,
    /// Slots over every queue.
    concurrency: usize,
    completer: Completer,
    finished: mpsc::UnboundedReceiver<Pending>,
    group: Vec<Pending>,
    running: JoinSet<Option<AttemptOutcome>>,
    hard_stop: Arc<CancellationToken>,
    summary: RunSummary,
    /// How long each job type's first poll takes: where it starts.
    first_polls: FirstPolls,
    /// When the loop last started jobs.
    last_start: Instant,
    /// When chores are next read along with a round.
    next_look: Instant,
    /// When the next cron tick is due, as far as this worker knows.
    next_tick: Option<Instant>,
    /// When the next pending job becomes claimable, as far as this worker
    /// knows (only while in the future).
    next_due: Option<Instant>,
    /// The failed round being written again, if any.
    retry: Option<Retry>,
}

impl<'w> RunLoop<'w> {
    pub(super) fn new(worker: &'w Worker) -> Self {
        let (completer, finished) = Completer::channel();
        RunLoop {
            worker,
            slots: worker
                .config
                .queue_slots()
                .into_iter()
                .map(|(queue, n)| (queue, Arc::new(Semaphore::new(n))))
                .collect(),
            concurrency: worker.config.total_concurrency(),
            completer,
            finished,
            group: Vec::new(),
            running: JoinSet::new(),
            hard_stop: Arc::new(CancellationToken::new()),
            summary: RunSummary::default(),
            first_polls: FirstPolls::new(worker.config.inline_start_limit),
            last_start: Instant::now(),
            next_look: Instant::now(),
            next_tick: None,
            next_due: None,
            retry: None,
        }
    }

    /// The free slots of each queue.
    fn free(&self) -> Vec<(String, usize)> {
        self.slots
            .iter()
            .map(|(queue, slots)| (queue.clone(), slots.available_permits()))
            .collect()
    }

    /// Free slots over every queue.
    fn free_total(&self) -> usize {
        self.slots
            .iter()
            .map(|(_, slots)| slots.available_permits())
            .sum()
    }

    /// How often chores are read while the worker is busy.
    fn look_interval(&self) -> Duration {
        let config = &self.worker.config;
        config.cron_interval.map_or(config.rescue_interval, |cron| {
            cron.min(config.rescue_interval)
        })
    }

    /// Whether a round may be written now (not waiting to try again).
    fn may_write(&self, now: Instant) -> bool {
        self.retry.as_ref().is_none_or(|retry| now >= retry.next)
    }

    /// Works until `shutdown` is cancelled, then drains.
    pub(super) async fn run(mut self, shutdown: CancellationToken) -> RunSummary {
        let config = Arc::clone(&self.worker.config);
        let mut idle_wait = config.poll_interval;
        // Whether the queue may hold jobs to claim: false after a claim got
        // fewer than it asked for, until woken or the next poll.
        let mut look = true;
        // Commits anywhere, on a store that tells them.
        let mut changes = self.worker.store.changes().map(|feed| feed.subscribe());
        // Whether the loop was woken by a commit (not yet known to concern
        // it), and whether a commit came since the chores were last read
        // (a schedule declared elsewhere, say).
        let mut changed = false;
        let mut chores_stale = false;

        while !shutdown.is_cancelled() {
            self.worker.mark_loop_alive();
            let now = Instant::now();
            if config.cron_interval.is_some() && self.next_tick.is_some_and(|tick| now >= tick) {
                self.fire_schedules().await;
            }
            let mut wants = if look { self.free() } else { Vec::new() };
            let mut want: usize = wants.iter().map(|(_, n)| n).sum();
            if want > 0 && std::mem::take(&mut changed) && !self.claimable(&wants).await {
                wants.clear();
                want = 0;
                look = false;
            }
            let chores_due = now >= self.next_look;
            if chores_due {
                chores_stale = false;
            }
            if self.may_write(now) && (want > 0 || !self.group.is_empty() || chores_due) {
                if let Some((claimed, filled)) = self.exchange(&wants, chores_due).await {
                    if want > 0 {
                        if claimed > 0 {
                            idle_wait = config.poll_interval;
                        }
                        // A queue that gave all it was asked for may have
                        // more; one that is empty, paused or at its limit
                        // must not keep the others from being asked.
                        look = filled;
                    }
                }
            }
            // Jobs started a moment ago are likely to report soon: wait
            // for them here rather than sleep and be woken.
            // (Unless the round is waiting to be written again after a
            // failure: then it sleeps until then like any other wait.)
            self.gather().await;
            if !self.group.is_empty() && self.may_write(Instant::now()) {
                continue;
            }
            // An idle worker waits for its next poll (its chores go with
            // it); a busy one looks at its chores now and then.
            let now = Instant::now();
            let mut wake = if self.free_total() > 0 && !chores_stale {
                now + idle_wait
            } else {
                self.next_look.max(now)
            };
            if let Some(tick) = self.next_tick {
                wake = wake.min(tick);
            }
            if let Some(due) = self.next_due.filter(|due| *due > now) {
                wake = wake.min(due);
            }
            if let Some(retry) = &self.retry {
                wake = wake.min(retry.next);
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
                _ = next_change(&mut changes), if !look => {
                    look = true;
                    changed = true;
                    chores_stale = true;
                }
                _ = sleep_until(wake) => {
                    if Instant::now() >= now + idle_wait {
                        idle_wait = (idle_wait * 2).min(config.max_poll_interval);
                    }
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
        let running = self.running.len();
        if running > 0 {
            tracing::info!(
                "stopping: waiting up to {} for {running} running job{}",
                humanize(grace),
                if running == 1 { "" } else { "s" }
            );
        } else {
            tracing::info!("stopping: no job is running");
        }
        let grace = sleep(grace);
        tokio::pin!(grace);
        loop {
            // An attempt hands its result over before its task ends: once
            // the task has ended, the result is waiting here.
            while let Ok(pending) = self.finished.try_recv() {
                self.group.push(pending);
            }
            if !self.group.is_empty() && self.may_write(Instant::now()) {
                self.exchange(&[], false).await;
                continue;
            }
            if self.running.is_empty() && self.group.is_empty() {
                break;
            }
            let retry_at = self.retry.as_ref().map(|retry| retry.next);
            tokio::select! {
                _ = self.finished.recv_many(&mut self.group, MAX_GROUP) => {}
                Some(done) = self.running.join_next(), if !self.running.is_empty() => {
                    self.summary.record_task(done)
                }
                _ = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {}
                _ = &mut grace, if !self.hard_stop.is_cancelled() => {
                    tracing::warn!(
                        "grace period over: stopping {} running job(s); they go back to pending",
                        self.running.len()
                    );
                    self.hard_stop.cancel();
                }
            }
        }
        self.summary
    }

    /// Writes the completions waiting and claims up to `wants` jobs of each
    /// queue, in one transaction (with `look`, reading the chores too, and
    /// doing them); starts what it claimed and returns how many, and
    /// whether some queue gave all it was asked for; `None` when the store
    /// failed (the round is written again later).
    async fn exchange(&mut self, wants: &[(String, usize)], look: bool) -> Option<(usize, bool)> {
        let (completions, replies) = completer::take(&mut self.group);
        let count = completions.len();
        let store = &self.worker.store;
        let want: usize = wants.iter().map(|(_, n)| n).sum();
        let request = (want > 0).then(|| self.worker.claim_request(wants));
        // Kept to write again should this round fail.
        let sent = completions.clone();
        let written =
            if look {
                store.poll(completions, request.as_ref()).await
            } else {
                match &request {
                    Some(request) => store.complete_and_claim(completions, request).await,
                    None => store.complete_many(completions).await.map(|completed| {
                        crate::store::Exchange {
                            completed,
                            claimed: Vec::new(),
                        }
                    }),
                }
                .map(|exchange| Polled {
                    exchange,
                    chores: Chores::default(),
                })
            };
        match written {
            Ok(Polled { exchange, chores }) => {
                if self.retry.take().is_some() {
                    tracing::info!(completions = count, "the round was written after all");
                }
                let handed = replies.answer(Ok(exchange.completed));
                self.summary.record_handed(handed);
                let n = exchange.claimed.len();
                let filled = wants.iter().any(|(queue, want)| {
                    *want > 0
                        && exchange
                            .claimed
                            .iter()
                            .filter(|c| c.job.queue == *queue)
                            .count()
                            == *want
                });
                self.summary.claimed += n as u64;
                for job in exchange.claimed {
                    self.start(job);
                }
                if n > 0 {
                    self.last_start = Instant::now();
                }
                if look {
                    self.do_chores(chores).await;
                }
                Some((n, filled))
            }
            Err(error) => {
                self.round_failed(error, sent, replies, want);
                None
            }
        }
    }

    /// Puts a failed round back to be written again, while its leases
    /// last; past that, tells its attempts.
    fn round_failed(
        &mut self,
        error: StoreError,
        sent: Vec<crate::store::Completion>,
        replies: completer::Replies,
        want: usize,
    ) {
        let lease = self.worker.config.lease_duration;
        let retry = self.retry.get_or_insert(Retry {
            since: Instant::now(),
            pause: FIRST_RETRY,
            next: Instant::now(),
        });
        let retryable = matches!(error, StoreError::Database { .. });
        if retryable && retry.since.elapsed() < lease {
            tracing::warn!(%error, completions = sent.len(), claim = want, pause = ?retry.pause, "writing completions and claiming failed; will try again");
            retry.next = Instant::now() + retry.pause;
            retry.pause = (retry.pause * 2).min(MAX_RETRY);
            self.group.extend(completer::rejoin(sent, replies));
        } else {
            // The leases have lapsed: the jobs are rescued and run again.
            tracing::error!(%error, completions = sent.len(), claim = want, "writing completions and claiming failed");
            let handed = replies.answer(Err(error));
            self.summary.record_handed(handed);
            self.retry = None;
        }
    }

    /// Whether a claim of `wants` would find a job now, asked without
    /// taking the write lock; a store that cannot say is claimed from.
    async fn claimable(&self, wants: &[(String, usize)]) -> bool {
        let request = self.worker.claim_request(wants);
        match self.worker.store.claimable(&request).await {
            Ok(claimable) => claimable,
            Err(error) => {
                tracing::warn!(%error, "cannot tell whether a job is claimable; claiming");
                true
            }
        }
    }

    /// Does what a poll found needed: rescues expired leases, notes (or
    /// fires, when due) the next cron tick, and notes when the next
    /// delayed job is due.
    async fn do_chores(&mut self, chores: Chores) {
        self.next_look = Instant::now() + self.look_interval();
        self.next_due = chores.next_due.map(until);
        if chores.expired_leases {
            self.summary.rescued += self.worker.rescue().await;
        }
        if self.worker.config.cron_interval.is_some() {
            self.next_tick = chores.next_tick.map(until);
            if self.next_tick.is_some_and(|tick| tick <= Instant::now()) {
                self.fire_schedules().await;
            }
        }
    }

    /// Fires the due cron schedules and notes the next tick.
    async fn fire_schedules(&mut self) {
        let (fired, next_tick) = self.worker.fire_schedules().await;
        self.summary.cron_fired += fired;
        let interval = self.look_interval();
        self.next_tick = Some(match next_tick.map(until) {
            Some(tick) if tick > Instant::now() => tick,
            // Due by this machine's clock but not by the store's: look
            // again at the next chores.
            _ => Instant::now() + interval,
        })
        .map(|tick| tick.max(Instant::now() + MIN_TICK_WAIT));
    }

    /// Takes every report already sent and, for [`GATHER_WINDOW`] after
    /// a round of jobs started, waits for the jobs still holding slots to
    /// report too. Jobs that take longer are not waited for.
    async fn gather(&mut self) {
        loop {
            while let Some(done) = self.running.try_join_next() {
                self.summary.record_task(done);
            }
            while let Ok(pending) = self.finished.try_recv() {
                self.group.push(pending);
            }
            let held = self.concurrency.saturating_sub(self.free_total());
            if held == 0 || self.last_start.elapsed() >= GATHER_WINDOW {
                return;
            }
            std::thread::yield_now();
            tokio::task::yield_now().await;
        }
    }

    /// Runs a claimed job in a slot of its queue.
    fn start(&mut self, claimed: Claimed) {
        // Only this loop takes slots, and it claims no more than are free.
        let slot = self
            .slots
            .iter()
            .find(|(queue, _)| *queue == claimed.job.queue)
            .and_then(|(_, slots)| Arc::clone(slots).try_acquire_owned().ok());
        if slot.is_none() {
            tracing::warn!(job_id = %claimed.job.id, "claimed a job with no free slot");
        }
        // With inline starts off, nothing is measured.
        let cost = self
            .first_polls
            .enabled()
            .then(|| self.first_polls.cost(&claimed.job.job_type));
        // One reading of the clock starts the attempt (its timeout counts
        // from here) and, when it starts here, the stopwatch of its first
        // poll.
        let started = std::time::Instant::now();
        let stopwatch = match &cost {
            Some(cost) if self.first_polls.is_cheap(cost) => {
                Some(self.first_polls.stopwatch(started))
            }
            _ => None,
        };
        let attempt = self
            .worker
            .attempt(claimed, &self.completer, &self.hard_stop, slot, started);
        let Some(cost) = cost else {
            self.running.spawn(attempt.in_current_span());
            return;
        };
        let Some(stopwatch) = stopwatch else {
            // In the loop's span, as it would be started here.
            self.running
                .spawn(Measured::new(attempt, cost).in_current_span());
            return;
        };
        match first_poll::poll_here(attempt, &cost, stopwatch) {
            Inline::Ended(outcome) => self.summary.record_ended(outcome),
            Inline::Panicked(message) => self.summary.record_panic(message),
            Inline::Waiting(continued) => {
                self.running.spawn(continued);
            }
        }
    }
}

/// The next commit the feed tells of (never, without a feed).
async fn next_change(changes: &mut Option<Changes>) {
    match changes {
        Some(changes) => changes.changed().await,
        None => std::future::pending().await,
    }
}

/// The instant of this machine's monotonic clock at wall-clock `at`.
fn until(at: chrono::DateTime<chrono::Utc>) -> Instant {
    let now = Instant::now();
    match (at - chrono::Utc::now()).to_std() {
        Ok(ahead) => now + ahead,
        Err(_) => now,
    }
}

/// A duration as people write it: `30s`, `1m 30s`, `250ms`.
fn humanize(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let secs = duration.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}
