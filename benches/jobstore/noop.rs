//! The job the bench runs: it does nothing but count itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use jobstore::worker::{JobContext, JobError, JobType, Registry, WorkerError};
use jobstore::NewJob;
use tokio::sync::Notify;

/// The job type's name.
pub const NOOP: &str = "noop";

/// Counts runs and wakes a waiter when `target` is reached.
#[derive(Clone, Default)]
pub struct Counter {
    runs: Arc<AtomicU64>,
    reached: Arc<Notify>,
    target: u64,
}

impl Counter {
    /// A counter that signals once `target` runs have started.
    pub fn until(target: u64) -> Self {
        Counter {
            target,
            ..Counter::default()
        }
    }

    /// How many runs have started.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Acquire)
    }

    /// Waits until `target` runs have started.
    pub async fn reached(&self) {
        loop {
            let notified = self.reached.notified();
            if self.runs.load(Ordering::Acquire) >= self.target {
                return;
            }
            notified.await;
        }
    }
}

struct Noop(Counter);

#[async_trait]
impl JobType for Noop {
    const NAME: &'static str = NOOP;
    type Params = serde_json::Value;
    type Output = ();

    async fn run(&self, _params: serde_json::Value, _ctx: &JobContext) -> Result<(), JobError> {
        let runs = self.0.runs.fetch_add(1, Ordering::AcqRel) + 1;
        if runs >= self.0.target {
            self.0.reached.notify_waiters();
        }
        Ok(())
    }
}

/// A registry running `noop` jobs, counted by `counter`.
pub fn registry(counter: Counter) -> Result<Registry, WorkerError> {
    let mut registry = Registry::new();
    registry.register(Noop(counter))?;
    Ok(registry)
}

/// `n` no-op jobs.
pub fn jobs(n: usize) -> Vec<NewJob> {
    (0..n)
        .map(|_| NewJob::new(NOOP, serde_json::json!({})))
        .collect()
}
