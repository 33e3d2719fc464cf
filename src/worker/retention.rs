//! Deleting finished jobs once they are old enough, in the background.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::WorkerError;
use crate::job::JobStatus;
use crate::store::{JobFilter, JobStore};

/// How long finished jobs are kept before a worker deletes them (see
/// [`WorkerConfig::retention`](super::WorkerConfig::retention)).
///
/// ```
/// use std::time::Duration;
/// use jobstore::worker::Retention;
/// use jobstore::JobStatus;
///
/// // Completed jobs for a week; failed and cancelled ones too, by default.
/// let week = Retention::new(Duration::from_secs(7 * 86_400));
/// // Only completed jobs, after a day: failures stay until deleted.
/// let day = Retention::new(Duration::from_secs(86_400)).status(JobStatus::Completed);
/// assert_ne!(week, day);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Finished jobs are deleted this long after they finished.
    pub keep: Duration,
    /// Only finished jobs in these statuses (completed, failed,
    /// cancelled); empty means all three.
    pub statuses: Vec<JobStatus>,
    /// How often a sweep runs.
    pub interval: Duration,
    /// The most jobs one transaction deletes: a sweep deletes batch after
    /// batch, so other writers wait only for one small batch at a time.
    pub batch: u32,
}

impl Retention {
    /// Keeps finished jobs for `keep`, sweeping every minute in batches of
    /// 1,000.
    pub fn new(keep: Duration) -> Self {
        Retention {
            keep,
            statuses: Vec::new(),
            interval: Duration::from_secs(60),
            batch: 1000,
        }
    }

    /// Deletes only finished jobs in `status` (several calls add more).
    pub fn status(mut self, status: JobStatus) -> Self {
        if !self.statuses.contains(&status) {
            self.statuses.push(status);
        }
        self
    }

    /// Sweeps every `interval`.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Checks the settings.
    pub(crate) fn validate(&self) -> Result<(), WorkerError> {
        let fail = |msg: String| Err(WorkerError::Config(msg));
        if self.interval.is_zero() {
            return fail("the retention sweep interval must be longer than zero".into());
        }
        if let Some(status) = self.statuses.iter().find(|s| !s.is_terminal()) {
            return fail(format!(
                "retention deletes finished jobs only (completed, failed, cancelled), not {status} ones"
            ));
        }
        if !(1..=crate::store::rules::MAX_PRUNE_LIMIT).contains(&self.batch) {
            return fail(format!(
                "the retention batch is {}; it must be 1 to {}",
                self.batch,
                crate::store::rules::MAX_PRUNE_LIMIT
            ));
        }
        let reaches_back = chrono::Duration::from_std(self.keep)
            .ok()
            .and_then(|keep| chrono::Utc::now().checked_sub_signed(keep));
        if reaches_back.is_none() {
            return fail(format!("retention of {:?} is too long", self.keep));
        }
        Ok(())
    }
}

/// A pause between two batches of one sweep, so writers queued behind a
/// batch get their turn.
const BETWEEN_BATCHES: Duration = Duration::from_millis(5);

/// Sweeps until `stop` is cancelled: every interval, deletes finished jobs
/// older than kept, batch by batch.
pub(super) async fn sweep(store: Arc<dyn JobStore>, retention: Retention, stop: CancellationToken) {
    loop {
        // Workers started together spread their sweeps over the interval.
        let wait = retention.interval.mul_f64(0.5 + fastrand::f64() / 2.0);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let mut deleted = 0u64;
        loop {
            let Some(before) = chrono::Duration::from_std(retention.keep)
                .ok()
                .and_then(|keep| chrono::Utc::now().checked_sub_signed(keep))
            else {
                tracing::error!(keep = ?retention.keep, "retention reaches before the earliest time; sweeping stops");
                return;
            };
            let filter = JobFilter {
                statuses: retention.statuses.clone(),
                finished_before: Some(before),
                ..JobFilter::default()
            };
            match store.prune(&filter, retention.batch).await {
                Ok(n) => {
                    deleted += n;
                    if n < u64::from(retention.batch) {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "deleting old finished jobs failed; will try again");
                    break;
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(BETWEEN_BATCHES) => {}
            }
        }
        if deleted > 0 {
            tracing::info!(deleted, keep = ?retention.keep, "deleted old finished jobs");
        }
    }
}
