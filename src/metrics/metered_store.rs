//! A [`JobStore`] that counts what passes through it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use metrics::{counter, histogram};

use super::{CLAIMED, COMPLETED, ENQUEUED, FAILED, RETRIED, RUN_SECONDS};
use crate::cron::{CronFiring, CronSchedule, NewCronSchedule};
use crate::error::StoreResult;
use crate::job::{Job, JobId, NewJob, Progress};
use crate::store::{
    AttemptRecord, BulkAction, BulkOutcome, CancelOutcome, ClaimRequest, Claimed, Completion,
    CronStore, Enqueued, Exchange, FailOutcome, Failure, Heartbeat, JobFilter, JobPage, JobStore,
    Lease, ListQuery, Polled, QueueInfo, RescueSummary, StatusCounts, WorkerInfo, WorkerRecord,
};

/// Wraps a store and records, through the `metrics` facade, the jobs it
/// enqueues, claims, completes, fails and retries, and how long each
/// finished attempt ran.
///
/// It delegates every call unchanged: hand it to workers, clients and the
/// HTTP API in place of the store they would use, and their activity is
/// counted. Only successful writes count. The type and start of every
/// attempt claimed through it are kept in memory until the attempt ends,
/// so recording an outcome reads nothing from the store; only an attempt
/// claimed elsewhere (another store in front of the same database) costs
/// one read of its job.
///
/// Jobs the rescuer fails (their worker died with no attempts left) count
/// as failed; they have no run time.
///
/// ```
/// use std::sync::Arc;
/// use jobstore::metrics::MeteredStore;
/// use jobstore::{JobStore, MemoryStore, NewJob};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), jobstore::StoreError> {
/// let store: Arc<dyn JobStore> = Arc::new(MeteredStore::new(Arc::new(MemoryStore::new())));
/// store.create(NewJob::new("email", serde_json::json!({}))).await?; // counted
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MeteredStore<S: ?Sized = dyn JobStore> {
    inner: Arc<S>,
    running: Mutex<HashMap<Lease, Running>>,
}

/// An attempt claimed through the store, until it ends.
#[derive(Debug)]
struct Running {
    job_type: String,
    started: Instant,
}

/// The most attempts kept at once; past it, the oldest are forgotten (an
/// attempt whose end never passes through this store: rescued elsewhere).
const MAX_RUNNING: usize = 100_000;

impl<S: JobStore + ?Sized> MeteredStore<S> {
    /// Counts what passes through `inner`.
    pub fn new(inner: Arc<S>) -> Self {
        MeteredStore {
            inner,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<Lease, Running>> {
        // Nothing panics while holding the lock.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a claim, and keeps the attempt's type and start.
    fn claimed(&self, claimed: &Claimed) {
        count(CLAIMED, &claimed.job.job_type);
        let mut running = self.running();
        if running.len() >= MAX_RUNNING {
            let cutoff = running
                .values()
                .map(|r| r.started)
                .min()
                .unwrap_or_else(Instant::now);
            running.retain(|_, r| r.started > cutoff);
        }
        running.insert(
            claimed.lease,
            Running {
                job_type: claimed.job.job_type.clone(),
                started: Instant::now(),
            },
        );
    }

    /// Forgets an attempt that ended without an outcome to count.
    fn forget(&self, lease: &Lease) {
        self.running().remove(lease);
    }

    /// Records a completion's outcome: counted when written, forgotten when
    /// refused (the lease was lost).
    async fn record_completion(&self, lease: &Lease, outcome: &StoreResult<()>) {
        match outcome {
            Ok(()) => self.record_finished(lease, Some(COMPLETED)).await,
            Err(_) => self.forget(lease),
        }
    }

    /// Records how the attempt holding `lease` ended.
    async fn record_finished(&self, lease: &Lease, counter_name: Option<&'static str>) {
        let known = self.running().remove(lease);
        let (job_type, seconds) = match known {
            Some(running) => (
                running.job_type,
                Some(running.started.elapsed().as_secs_f64()),
            ),
            None => match self.inner.get(lease.job_id).await {
                Ok(job) => {
                    let seconds = run_seconds(&job);
                    (job.job_type, seconds)
                }
                Err(error) => {
                    tracing::debug!(id = %lease.job_id, %error, "cannot read a finished job for metrics");
                    return;
                }
            },
        };
        if let Some(name) = counter_name {
            counter!(name, "job_type" => job_type.clone()).increment(1);
        }
        if let Some(seconds) = seconds {
            histogram!(RUN_SECONDS, "job_type" => job_type).record(seconds);
        }
    }
}

/// From the attempt's start to the job's last write (its completion or
/// failure), in seconds, by the store's own clock.
fn run_seconds(job: &Job) -> Option<f64> {
    let started = job.started_at?;
    let ended = job.completed_at.unwrap_or(job.updated_at);
    let millis = (ended - started).num_milliseconds();
    (millis >= 0).then(|| millis as f64 / 1000.0)
}

fn count(name: &'static str, job_type: &str) {
    counter!(name, "job_type" => job_type.to_string()).increment(1);
}

#[async_trait]
impl<S: JobStore + ?Sized> CronStore for MeteredStore<S> {
    async fn declare_schedule(&self, schedule: &NewCronSchedule) -> StoreResult<CronSchedule> {
        self.inner.declare_schedule(schedule).await
    }

    async fn get_schedule(&self, name: &str) -> StoreResult<CronSchedule> {
        self.inner.get_schedule(name).await
    }

    async fn list_schedules(&self) -> StoreResult<Vec<CronSchedule>> {
        self.inner.list_schedules().await
    }

    async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> StoreResult<CronSchedule> {
        self.inner.set_schedule_enabled(name, enabled).await
    }

    async fn delete_schedule(&self, name: &str) -> StoreResult<()> {
        self.inner.delete_schedule(name).await
    }

    async fn fire_due_schedules(&self) -> StoreResult<CronFiring> {
        let firing = self.inner.fire_due_schedules().await?;
        for fired in &firing.fired {
            count(ENQUEUED, &fired.job_type);
        }
        Ok(firing)
    }
}

#[async_trait]
impl<S: JobStore + ?Sized> JobStore for MeteredStore<S> {
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Enqueued>> {
        let enqueued = self.inner.enqueue_many(jobs).await?;
        for new in enqueued.iter().filter(|e| !e.existing) {
            count(ENQUEUED, &new.job.job_type);
        }
        Ok(enqueued)
    }

    async fn get(&self, id: JobId) -> StoreResult<Job> {
        self.inner.get(id).await
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<JobPage> {
        self.inner.list(query).await
    }

    async fn count_by_status(&self) -> StoreResult<StatusCounts> {
        self.inner.count_by_status().await
    }

    async fn count_by_type(&self) -> StoreResult<BTreeMap<String, StatusCounts>> {
        self.inner.count_by_type().await
    }

    async fn claim(&self, request: &ClaimRequest) -> StoreResult<Vec<Claimed>> {
        let claimed = self.inner.claim(request).await?;
        for one in &claimed {
            self.claimed(one);
        }
        Ok(claimed)
    }

    async fn claim_job(
        &self,
        id: JobId,
        worker_id: &str,
        lease_duration: Duration,
    ) -> StoreResult<Claimed> {
        let claimed = self.inner.claim_job(id, worker_id, lease_duration).await?;
        self.claimed(&claimed);
        Ok(claimed)
    }

    async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> StoreResult<Heartbeat> {
        self.inner.heartbeat(lease, extend_by).await
    }

    async fn heartbeat_many(
        &self,
        leases: &[Lease],
        extend_by: Duration,
    ) -> StoreResult<Vec<StoreResult<Heartbeat>>> {
        self.inner.heartbeat_many(leases, extend_by).await
    }

    async fn cancel_requested(&self, leases: &[Lease]) -> StoreResult<Vec<Lease>> {
        self.inner.cancel_requested(leases).await
    }

    async fn progress(&self, lease: &Lease, progress: &Progress) -> StoreResult<()> {
        self.inner.progress(lease, progress).await
    }

    async fn complete(&self, lease: &Lease, result: serde_json::Value) -> StoreResult<()> {
        self.inner.complete(lease, result).await?;
        self.record_finished(lease, Some(COMPLETED)).await;
        Ok(())
    }

    async fn complete_many(
        &self,
        completions: Vec<Completion>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        let leases: Vec<Lease> = completions.iter().map(|c| c.lease).collect();
        let outcomes = self.inner.complete_many(completions).await?;
        for (lease, outcome) in leases.iter().zip(&outcomes) {
            self.record_completion(lease, outcome).await;
        }
        Ok(outcomes)
    }

    async fn complete_and_claim(
        &self,
        completions: Vec<Completion>,
        request: &ClaimRequest,
    ) -> StoreResult<Exchange> {
        let leases: Vec<Lease> = completions.iter().map(|c| c.lease).collect();
        let exchange = self.inner.complete_and_claim(completions, request).await?;
        for (lease, outcome) in leases.iter().zip(&exchange.completed) {
            self.record_completion(lease, outcome).await;
        }
        for one in &exchange.claimed {
            self.claimed(one);
        }
        Ok(exchange)
    }

    async fn poll(
        &self,
        completions: Vec<Completion>,
        request: Option<&ClaimRequest>,
    ) -> StoreResult<Polled> {
        let leases: Vec<Lease> = completions.iter().map(|c| c.lease).collect();
        let polled = self.inner.poll(completions, request).await?;
        for (lease, outcome) in leases.iter().zip(&polled.exchange.completed) {
            self.record_completion(lease, outcome).await;
        }
        for one in &polled.exchange.claimed {
            self.claimed(one);
        }
        Ok(polled)
    }

    async fn fail(&self, lease: &Lease, failure: &Failure) -> StoreResult<FailOutcome> {
        let outcome = self.inner.fail(lease, failure).await?;
        let counter_name = match outcome {
            FailOutcome::Retrying { .. } => Some(RETRIED),
            FailOutcome::Failed => Some(FAILED),
            FailOutcome::Cancelled => None,
        };
        self.record_finished(lease, counter_name).await;
        Ok(outcome)
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        self.inner.release(lease).await?;
        self.forget(lease);
        Ok(())
    }

    async fn mark_cancelled(&self, lease: &Lease) -> StoreResult<()> {
        self.inner.mark_cancelled(lease).await?;
        self.forget(lease);
        Ok(())
    }

    async fn cancel(&self, id: JobId) -> StoreResult<CancelOutcome> {
        self.inner.cancel(id).await
    }

    async fn attempts(&self, id: JobId) -> StoreResult<Vec<AttemptRecord>> {
        self.inner.attempts(id).await
    }

    async fn rescue_expired_by(&self, rescuer: &str) -> StoreResult<RescueSummary> {
        let summary = self.inner.rescue_expired_by(rescuer).await?;
        for (job_type, n) in &summary.failed_by_type {
            counter!(FAILED, "job_type" => job_type.clone()).increment(*n);
        }
        Ok(summary)
    }

    async fn rescue_expired(&self) -> StoreResult<RescueSummary> {
        let summary = self.inner.rescue_expired().await?;
        for (job_type, n) in &summary.failed_by_type {
            counter!(FAILED, "job_type" => job_type.clone()).increment(*n);
        }
        Ok(summary)
    }

    async fn queue_position(&self, id: JobId) -> StoreResult<Option<u64>> {
        self.inner.queue_position(id).await
    }

    async fn queue_positions(&self, ids: &[JobId]) -> StoreResult<Vec<Option<u64>>> {
        self.inner.queue_positions(ids).await
    }

    async fn claimable(&self, request: &ClaimRequest) -> StoreResult<bool> {
        self.inner.claimable(request).await
    }

    async fn queues(&self) -> StoreResult<Vec<QueueInfo>> {
        self.inner.queues().await
    }

    async fn set_queue_paused(&self, queue: &str, paused: bool) -> StoreResult<QueueInfo> {
        self.inner.set_queue_paused(queue, paused).await
    }

    async fn set_queue_limit(&self, queue: &str, limit: Option<u32>) -> StoreResult<QueueInfo> {
        self.inner.set_queue_limit(queue, limit).await
    }

    fn changes(&self) -> Option<crate::store::ChangeFeed> {
        self.inner.changes()
    }

    async fn announce_worker(&self, info: &WorkerInfo) -> StoreResult<()> {
        self.inner.announce_worker(info).await
    }

    async fn retire_worker(&self, id: &str) -> StoreResult<()> {
        self.inner.retire_worker(id).await
    }

    async fn workers(&self) -> StoreResult<Vec<WorkerRecord>> {
        self.inner.workers().await
    }

    async fn activity(
        &self,
        window: &crate::store::ActivityWindow,
    ) -> StoreResult<Vec<crate::store::QueueActivity>> {
        self.inner.activity(window).await
    }

    async fn bulk(&self, action: BulkAction, filter: &JobFilter) -> StoreResult<BulkOutcome> {
        self.inner.bulk(action, filter).await
    }

    async fn bulk_preview(
        &self,
        action: BulkAction,
        filter: &JobFilter,
    ) -> StoreResult<BulkOutcome> {
        self.inner.bulk_preview(action, filter).await
    }

    async fn prune(&self, filter: &JobFilter, limit: u32) -> StoreResult<u64> {
        self.inner.prune(filter, limit).await
    }

    async fn vacuum(&self, full: bool) -> StoreResult<Option<u64>> {
        self.inner.vacuum(full).await
    }

    async fn retry(&self, id: JobId) -> StoreResult<Job> {
        let job = self.inner.retry(id).await?;
        count(ENQUEUED, &job.job_type);
        Ok(job)
    }
}
