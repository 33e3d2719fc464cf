//! The worker: claims jobs FIFO up to its concurrency, runs them, rescues
//! the jobs of dead workers, and shuts down gracefully.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::attempt::completer::Completer;
use super::attempt::keeper::LeaseKeeper;
use super::attempt::Attempt;
use super::{AttemptOutcome, Registry, RunSummary, WorkerConfig, WorkerError};

use crate::store::{ClaimRequest, JobStore, QueueClaim};

/// Whether a worker is fit to work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkerHealth {
    /// The store answered a query.
    pub store_ok: bool,
    /// The worker loop went round recently (within a few poll intervals).
    pub loop_alive: bool,
    /// The worker loop has not gone round yet: it is starting, not broken
    /// (`loop_alive` is false meanwhile).
    pub starting: bool,
    /// What went wrong, when something did.
    pub message: Option<String>,
}

/// Claims and runs jobs from a store with the handlers of a registry.
#[derive(Clone)]
pub struct Worker {
    pub(super) store: Arc<dyn JobStore>,
    registry: Arc<Registry>,
    pub(super) config: Arc<WorkerConfig>,
    pub(super) wake: Arc<Notify>,
    /// Keeps the leases of the attempts running.
    keeper: LeaseKeeper,
    last_loop_ms: Arc<AtomicI64>,
    /// Told when the loop first goes round.
    started: Arc<Notify>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("worker_id", &self.config.worker_id)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker for `store` running the handlers of `registry`.
    pub fn new(
        store: Arc<dyn JobStore>,
        registry: Registry,
        config: WorkerConfig,
    ) -> Result<Self, WorkerError> {
        config.validate()?;
        let keeper = LeaseKeeper::new(
            Arc::clone(&store),
            config.heartbeat_interval,
            config.lease_duration,
        );
        Ok(Worker {
            store,
            registry: Arc::new(registry),
            config: Arc::new(config),
            wake: Arc::new(Notify::new()),
            keeper,
            last_loop_ms: Arc::new(AtomicI64::new(0)),
            started: Arc::new(Notify::new()),
        })
    }

    /// The store this worker uses.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// The worker's settings.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Wakes the worker as if a job had just been enqueued in this process.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// What wakes the worker (a client of this process rings it).
    pub(crate) fn bell(&self) -> &Arc<Notify> {
        &self.wake
    }

    /// The keeper of this worker's leases (inline runs of its client share
    /// it).
    pub(crate) fn keeper(&self) -> &LeaseKeeper {
        &self.keeper
    }

    /// The worker's settings, shared.
    pub(crate) fn shared_config(&self) -> &Arc<WorkerConfig> {
        &self.config
    }

    /// The job types this worker runs.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Runs until `shutdown` is cancelled: then stops claiming, lets
    /// running jobs finish within the grace period, stops the rest and puts
    /// them back to pending without spending an attempt.
    ///
    /// On a multi-threaded runtime the worker's loop runs on a thread of its
    /// own (named `jobstore-worker-<worker id>`) while its jobs run as tasks
    /// of the runtime; dropping this future shuts the worker down as
    /// cancelling `shutdown` does, and a runtime that shuts down stops the
    /// loop at once (its jobs' leases then run out and they are rescued).
    pub async fn run(&self, shutdown: CancellationToken) -> Result<RunSummary, WorkerError> {
        tracing::info!(worker_id = %self.config.worker_id, "worker started");
        // The sweep stops with the loop, or when this future is dropped.
        let sweep_stop = CancellationToken::new();
        let _stop_sweep = sweep_stop.clone().drop_guard();
        if let Some(retention) = self.config.retention.clone() {
            tokio::spawn(super::retention::sweep(
                Arc::clone(&self.store),
                retention,
                sweep_stop,
            ));
        }
        let presence_stop = CancellationToken::new();
        let _stop_presence = presence_stop.clone().drop_guard();
        let presence = tokio::spawn(super::presence::keep(
            Arc::clone(&self.store),
            Arc::clone(&self.config),
            presence_stop.clone(),
        ));
        let summary = super::loop_thread::run(self, shutdown).await;
        presence_stop.cancel();
        let _ = presence.await;
        super::presence::retire(&*self.store, &self.config).await;
        let summary = summary?;
        tracing::info!("worker stopped: {summary}");
        Ok(summary)
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully.
    pub async fn run_until_signal(&self) -> Result<RunSummary, WorkerError> {
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| WorkerError::Config(format!("cannot listen for SIGTERM: {e}")))?;
        tokio::spawn(async move {
            tokio::select! {
                _ = sigterm.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            trigger.cancel();
        });
        self.run(shutdown).await
    }

    /// Run-once mode, for cron-triggered or serverless deployments: rescues
    /// expired leases, fires due cron schedules (unless `cron_interval` is
    /// `None`), claims up to `limit` jobs, runs them to their outcome, and
    /// returns what happened.
    pub async fn run_once(&self, limit: usize) -> Result<RunSummary, WorkerError> {
        let mut summary = RunSummary {
            rescued: self
                .store
                .rescue_expired_by(&self.config.worker_id)
                .await?
                .total(),
            ..RunSummary::default()
        };
        if self.config.cron_interval.is_some() {
            summary.cron_fired = self.store.fire_due_schedules().await?.fired.len() as u64;
        }
        let hard_stop = Arc::new(CancellationToken::new());
        let mut running = JoinSet::new();
        let (completer, writer) = Completer::grouped(Arc::clone(&self.store));
        // Up to `limit` jobs in all: each queue up to its concurrency, and
        // what is left from the first queue.
        let mut left = limit.max(1);
        let mut wants = Vec::new();
        for (queue, concurrency) in self.config.queue_slots() {
            let n = left.min(concurrency);
            left -= n;
            wants.push((queue, n));
        }
        if let Some((_, n)) = wants.first_mut() {
            *n += left;
        }
        let request = self.claim_request(&wants);
        for claimed in self.store.claim(&request).await? {
            summary.claimed += 1;
            running.spawn(self.attempt(
                claimed,
                &completer,
                &hard_stop,
                None,
                std::time::Instant::now(),
            ));
        }
        while let Some(done) = running.join_next().await {
            summary.record_task(done);
        }
        drop(completer);
        if let Err(error) = writer.await {
            tracing::error!(%error, "the completion writer panicked");
        }
        Ok(summary)
    }

    /// Whether the store answers and the loop is going round.
    pub async fn health(&self) -> WorkerHealth {
        let store = self.store.count_by_status().await;
        let last = self.last_loop_ms.load(Ordering::Relaxed);
        let stale_after = (self.config.max_poll_interval * 3).as_millis() as i64;
        let starting = last == 0;
        let loop_alive = !starting && chrono::Utc::now().timestamp_millis() - last <= stale_after;
        WorkerHealth {
            store_ok: store.is_ok(),
            loop_alive,
            starting,
            message: match (&store, loop_alive, starting) {
                (Err(e), _, _) => Some(format!("store: {e}")),
                (Ok(_), false, true) => Some("the worker is starting".into()),
                (Ok(_), false, false) => Some("the worker loop is not running".into()),
                _ => None,
            },
        }
    }

    pub(super) fn mark_loop_alive(&self) {
        let previous = self
            .last_loop_ms
            .swap(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
        if previous == 0 {
            self.started.notify_waiters();
        }
    }

    /// Returns once the worker's loop has gone round for the first time
    /// (it has read its chores and made its first claim): the worker is
    /// ready. Waits for ever if the worker is never run.
    pub async fn ready(&self) {
        loop {
            let started = self.started.notified();
            if self.last_loop_ms.load(Ordering::Relaxed) != 0 {
                return;
            }
            started.await;
        }
    }

    /// A claim of up to the given number of jobs from each queue.
    pub(super) fn claim_request(&self, wants: &[(String, usize)]) -> ClaimRequest {
        ClaimRequest {
            worker_id: self.config.worker_id.clone(),
            queues: wants
                .iter()
                .map(|(queue, n)| QueueClaim {
                    queue: queue.clone(),
                    limit: u32::try_from(*n).unwrap_or(u32::MAX),
                })
                .collect(),
            lease_duration: self.config.lease_duration,
            job_types: self.config.job_types.clone(),
        }
    }

    /// One attempt at `claimed`, started at `started`, holding `slot` while
    /// its handler runs; `None` when its result was handed over to the loop
    /// (see [`Completer::hand_over`]).
    pub(super) fn attempt(
        &self,
        claimed: crate::store::Claimed,
        completer: &Completer,
        hard_stop: &Arc<CancellationToken>,
        slot: Option<OwnedSemaphorePermit>,
        started: std::time::Instant,
    ) -> impl std::future::Future<Output = Option<AttemptOutcome>> + Send + 'static {
        Attempt {
            store: Arc::clone(&self.store),
            registry: Arc::clone(&self.registry),
            config: Arc::clone(&self.config),
            keeper: self.keeper.clone(),
            claimed,
            completer: completer.clone(),
            hard_stop: Arc::clone(hard_stop),
            slot,
            started,
        }
        .execute()
    }

    /// Fires due cron schedules; returns how many ticks this worker fired
    /// and the next tick any schedule waits for (`None` when the store
    /// could not say).
    pub(super) async fn fire_schedules(&self) -> (u64, Option<chrono::DateTime<chrono::Utc>>) {
        match self.store.fire_due_schedules().await {
            Ok(firing) => {
                for fired in &firing.fired {
                    tracing::info!(schedule = %fired.schedule, tick = %fired.tick, job_id = %fired.job_id, "cron tick fired");
                }
                for skipped in &firing.skipped {
                    tracing::warn!(schedule = %skipped, "cron schedule cannot fire");
                }
                (firing.fired.len() as u64, firing.next_tick)
            }
            Err(e) => {
                tracing::error!(error = %e, "firing cron schedules failed; will try again");
                (0, None)
            }
        }
    }

    pub(super) async fn rescue(&self) -> u64 {
        match self.store.rescue_expired_by(&self.config.worker_id).await {
            Ok(summary) => {
                if summary.total() > 0 {
                    tracing::warn!(?summary, "rescued jobs whose worker stopped heartbeating");
                }
                summary.total()
            }
            Err(e) => {
                tracing::error!(error = %e, "rescue failed; will try again");
                0
            }
        }
    }
}
