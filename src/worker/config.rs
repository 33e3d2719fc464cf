//! How a worker behaves.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Backoff, ProgramAllowlist, Retention, WorkerError};
use crate::job::{validate_queue_name, NewJob};

/// The most jobs a worker runs at once, over every queue it serves.
const MAX_CONCURRENCY: usize = 1000;

/// Settings of a [`Worker`](super::Worker).
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Recorded as `locked_by` on the jobs this worker claims.
    pub worker_id: String,
    /// The most jobs run at once, when [`WorkerConfig::queues`] is empty:
    /// the worker then serves the default queue alone.
    pub concurrency: usize,
    /// The queues this worker serves, each with the most jobs of it run at
    /// once (its own slots: a busy queue never takes another's). Empty
    /// serves the default queue with [`WorkerConfig::concurrency`].
    pub queues: BTreeMap<String, usize>,
    /// Only jobs of these types are claimed; `None` claims every type (a job
    /// with no registered handler then fails permanently).
    pub job_types: Option<Vec<String>>,
    /// How often an idle worker looks for jobs enqueued elsewhere.
    pub poll_interval: Duration,
    /// The longest idle wait, as the poll interval backs off while idle.
    pub max_poll_interval: Duration,
    /// How long a claim's lease lasts without a heartbeat.
    pub lease_duration: Duration,
    /// How often running jobs are heartbeated (and cancellation noticed).
    pub heartbeat_interval: Duration,
    /// How often this worker rescues jobs whose lease expired.
    pub rescue_interval: Duration,
    /// How often this worker looks for due cron schedules and fires them
    /// (sooner when a tick is due before then); `None` leaves firing to
    /// other workers. However many workers fire, each tick enqueues one job.
    pub cron_interval: Option<Duration>,
    /// On shutdown, how long running jobs may take to finish before they
    /// are stopped and put back to pending.
    pub shutdown_grace: Duration,
    /// How long a job's child processes get between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// The wait before retrying a transient failure.
    pub backoff: Backoff,
    /// The programs jobs may start (through
    /// [`JobContext::spawn`](super::JobContext::spawn)): any by default.
    pub exec_allow: ProgramAllowlist,
    /// Deletes finished jobs once they are this old, in small batches in
    /// the background (`None`, the default, keeps them until deleted by
    /// hand or by `jobstore prune`). Any number of workers may sweep.
    pub retention: Option<Retention>,
    /// Jobs of a type whose runs reach their first `.await` that waits
    /// within this time on average start on the thread of the worker's
    /// loop, saving a hand-over to another thread (about this much) per
    /// job; a type's first job, and those of slower types, start as tasks
    /// of the runtime. (Time the thread was only preempted, neither waiting
    /// nor computing, does not count.) `Duration::ZERO` starts every job as
    /// a task.
    pub inline_start_limit: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: format!("worker-{}-{}", std::process::id(), short_random()),
            concurrency: 4,
            queues: BTreeMap::new(),
            job_types: None,
            poll_interval: Duration::from_secs(1),
            max_poll_interval: Duration::from_secs(5),
            lease_duration: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(10),
            rescue_interval: Duration::from_secs(15),
            cron_interval: Some(Duration::from_secs(1)),
            shutdown_grace: Duration::from_secs(30),
            kill_grace: Duration::from_secs(10),
            backoff: Backoff::default(),
            exec_allow: ProgramAllowlist::any(),
            retention: None,
            inline_start_limit: Self::DEFAULT_INLINE_START_LIMIT,
        }
    }
}

fn short_random() -> String {
    format!("{:08x}", fastrand::u32(..))
}

impl WorkerConfig {
    /// The default [`WorkerConfig::inline_start_limit`].
    pub const DEFAULT_INLINE_START_LIMIT: Duration = Duration::from_micros(50);

    /// Serves `queue` too, running at most `concurrency` of its jobs at
    /// once (the first call replaces the default queue).
    pub fn queue(mut self, queue: impl Into<String>, concurrency: usize) -> Self {
        self.queues.insert(queue.into(), concurrency);
        self
    }

    /// The queues served, each with its concurrency.
    pub fn queue_slots(&self) -> Vec<(String, usize)> {
        if self.queues.is_empty() {
            vec![(NewJob::DEFAULT_QUEUE.to_string(), self.concurrency)]
        } else {
            self.queues.iter().map(|(q, n)| (q.clone(), *n)).collect()
        }
    }

    /// The most jobs run at once, over every queue served.
    pub fn total_concurrency(&self) -> usize {
        self.queue_slots()
            .iter()
            .fold(0usize, |sum, (_, n)| sum.saturating_add(*n))
    }

    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), WorkerError> {
        let fail = |msg: &str| Err(WorkerError::Config(msg.to_string()));
        for (queue, concurrency) in self.queue_slots() {
            validate_queue_name(&queue).map_err(|e| WorkerError::Config(e.to_string()))?;
            if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
                return Err(WorkerError::Config(format!(
                    "queue {queue:?}: concurrency is {concurrency}; it must be 1 to {MAX_CONCURRENCY}"
                )));
            }
        }
        if self.total_concurrency() > MAX_CONCURRENCY {
            return fail("concurrency must be at most 1000 (over every queue served)");
        }
        if self.poll_interval.is_zero() || self.heartbeat_interval.is_zero() {
            return fail("poll and heartbeat intervals must be longer than zero");
        }
        if self.heartbeat_interval >= self.lease_duration {
            return fail("the heartbeat interval must be shorter than the lease, or leases expire while jobs run");
        }
        if self.rescue_interval.is_zero() {
            return fail("the rescue interval must be longer than zero");
        }
        if self.cron_interval.is_some_and(|i| i.is_zero()) {
            return fail(
                "the cron interval must be longer than zero (or None to fire no schedules)",
            );
        }
        if let Some(retention) = &self.retention {
            retention.validate()?;
        }
        Ok(())
    }
}
