//! An in-memory [`JobStore`] with the same semantics as the durable ones,
//! for users' unit tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::clock::{SharedClock, SystemClock};
use crate::cron::{self, CronFiring, CronSchedule, NewCronSchedule};
use crate::error::{StoreError, StoreResult};
use crate::job::{validate_queue_name, Job, JobId, JobStatus, NewJob, Progress, UniqueScope};
use crate::store::rules::{self, AfterFailure};
use crate::store::{
    AttemptEnd, AttemptRecord, BulkAction, BulkOutcome, CancelOutcome, ChangeFeed, Chores,
    ClaimRequest, Claimed, Completion, CronStore, Enqueued, Exchange, FailOutcome, Failure,
    Heartbeat, JobFilter, JobPage, JobStore, Lease, ListQuery, Polled, QueueInfo, RescueSummary,
    StatusCounts, WorkerInfo, WorkerRecord,
};
use crate::time;

/// A [`JobStore`] that keeps jobs in memory: nothing survives the process.
///
/// Clones share the same jobs.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    jobs: Arc<Mutex<BTreeMap<JobId, Job>>>,
    schedules: Arc<Mutex<BTreeMap<String, CronSchedule>>>,
    queues: Arc<Mutex<BTreeMap<String, QueueSettings>>>,
    /// The attempts of each job that did not complete it.
    attempts: Arc<Mutex<BTreeMap<JobId, Vec<AttemptRecord>>>>,
    /// The workers, as they announced themselves.
    workers: Arc<Mutex<BTreeMap<String, WorkerRecord>>>,
    clock: SharedClock,
    /// Told of every write.
    changes: ChangeFeed,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store that reads time from `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        MemoryStore {
            jobs: Arc::new(Mutex::new(BTreeMap::new())),
            schedules: Arc::new(Mutex::new(BTreeMap::new())),
            queues: Arc::new(Mutex::new(BTreeMap::new())),
            attempts: Arc::new(Mutex::new(BTreeMap::new())),
            workers: Arc::new(Mutex::new(BTreeMap::new())),
            clock,
            changes: ChangeFeed::new(None),
        }
    }

    /// Records how the attempt `job` holds ended (before it leaves
    /// running, while its worker and start are on it).
    fn record_attempt(
        &self,
        job: &Job,
        outcome: AttemptEnd,
        now: DateTime<Utc>,
        error: Option<&str>,
        ended_by: Option<&str>,
    ) {
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(job.id)
            .or_default()
            .push(AttemptRecord {
                attempt: job.attempt,
                worker: job.locked_by.clone(),
                host: None,
                started_at: job.started_at,
                finished_at: Some(now),
                outcome,
                error: error.map(str::to_string),
                ended_by: ended_by.map(str::to_string),
            });
    }

    /// Forgets the attempts of deleted jobs.
    fn forget_attempts(&self, ids: &[JobId]) {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            attempts.remove(id);
        }
    }

    fn rescue(&self, rescuer: Option<&str>) -> RescueSummary {
        let now = self.now();
        let mut summary = RescueSummary::default();
        for job in self.jobs_mut().values_mut() {
            let expired = job.status == JobStatus::Running
                && job.lease_expires_at.is_some_and(|until| until < now);
            if !expired {
                continue;
            }
            self.record_attempt(
                job,
                AttemptEnd::Lost,
                now,
                Some(rules::ATTEMPT_LOST_ERROR),
                rescuer,
            );
            if job.cancel_requested {
                leave_running(job, JobStatus::Cancelled, now);
                summary.cancelled += 1;
            } else if job.retry_count.saturating_add(1) < job.max_attempts {
                leave_running(job, JobStatus::Pending, now);
                job.retry_count += 1;
                job.error = Some(rules::RESCUE_REQUEUED_ERROR.to_string());
                summary.requeued += 1;
            } else {
                leave_running(job, JobStatus::Failed, now);
                job.error = Some(rules::RESCUE_FAILED_ERROR.to_string());
                summary.failed += 1;
                *summary
                    .failed_by_type
                    .entry(job.job_type.clone())
                    .or_default() += 1;
            }
        }
        summary
    }

    fn now(&self) -> DateTime<Utc> {
        time::truncate(self.clock.now())
    }

    fn jobs(&self) -> MutexGuard<'_, BTreeMap<JobId, Job>> {
        // No operation panics while holding the lock, so the map is consistent
        // even if a caller's thread panicked elsewhere.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The jobs, to change: the change feed is told once the guard goes.
    fn jobs_mut(&self) -> Written<'_, BTreeMap<JobId, Job>> {
        Written {
            guard: self.jobs(),
            changes: &self.changes,
        }
    }

    /// The schedules, to change (see [`MemoryStore::jobs_mut`]).
    fn schedules_mut(&self) -> Written<'_, BTreeMap<String, CronSchedule>> {
        Written {
            guard: self.schedules(),
            changes: &self.changes,
        }
    }

    fn schedules(&self) -> MutexGuard<'_, BTreeMap<String, CronSchedule>> {
        // Locked before `jobs` whenever both are held.
        self.schedules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn queue_settings(&self) -> MutexGuard<'_, BTreeMap<String, QueueSettings>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes `queue`'s settings with `change`, then reads it back.
    fn change_queue(
        &self,
        queue: &str,
        change: impl FnOnce(&mut QueueSettings),
    ) -> StoreResult<QueueInfo> {
        validate_queue_name(queue)?;
        change(self.queue_settings().entry(queue.to_string()).or_default());
        self.changes.notify();
        Ok(self
            .queue_infos()
            .into_iter()
            .find(|q| q.name == queue)
            .unwrap_or_default())
    }

    /// Every queue with jobs pending or running, or with settings.
    fn queue_infos(&self) -> Vec<QueueInfo> {
        let now = self.now();
        let mut queues: BTreeMap<String, QueueInfo> = BTreeMap::new();
        for job in self.jobs().values() {
            if job.status.is_terminal() {
                continue;
            }
            let queue = queues
                .entry(job.queue.clone())
                .or_insert_with(|| QueueInfo {
                    name: job.queue.clone(),
                    ..QueueInfo::default()
                });
            match job.status {
                JobStatus::Running => queue.running += 1,
                _ if job.run_at <= now => queue.available += 1,
                _ => queue.scheduled += 1,
            }
        }
        for (name, settings) in self.queue_settings().iter() {
            let queue = queues.entry(name.clone()).or_insert_with(|| QueueInfo {
                name: name.clone(),
                ..QueueInfo::default()
            });
            queue.paused = settings.paused;
            queue.concurrency_limit = settings.limit;
        }
        queues.into_values().collect()
    }

    /// Runs `write` on the job held by `lease`, or reports why the lease no
    /// longer holds it.
    fn with_lease<T>(
        &self,
        lease: &Lease,
        write: impl FnOnce(&mut Job, DateTime<Utc>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let now = self.now();
        let mut jobs = self.jobs_mut();
        let job = jobs
            .get_mut(&lease.job_id)
            .ok_or(StoreError::NotFound(lease.job_id))?;
        if !rules::holds_lease(lease.attempt, job.status, job.attempt) {
            return Err(rules::lease_lost(
                job.id,
                lease.attempt,
                job.status,
                job.attempt,
            ));
        }
        write(job, now)
    }
}

/// A lock held to write, which tells the change feed when released.
struct Written<'a, T> {
    guard: MutexGuard<'a, T>,
    changes: &'a ChangeFeed,
}

impl<T> std::ops::Deref for Written<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for Written<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for Written<'_, T> {
    fn drop(&mut self) {
        self.changes.notify();
    }
}

/// Moves a running job out of running: its lease is cleared, and its
/// holder unless it completed the job.
fn leave_running(job: &mut Job, status: JobStatus, now: DateTime<Utc>) {
    job.status = status;
    // A completed job keeps the worker that completed it.
    if status != JobStatus::Completed {
        job.locked_by = None;
    }
    job.lease_expires_at = None;
    job.updated_at = now;
    if status.is_terminal() {
        job.completed_at = Some(now);
    }
    if status == JobStatus::Pending {
        // A waiting job is doing nothing: the stopped attempt's stage and
        // percent go with it.
        job.stage = None;
        job.progress = None;
    }
}

/// Whether `job` may be claimed from `queue` for `request` at `now`.
fn claimable_now(job: &Job, request: &ClaimRequest, queue: &str, now: DateTime<Utc>) -> bool {
    job.status == JobStatus::Pending
        && job.queue == queue
        && job.run_at <= now
        && request
            .job_types
            .as_ref()
            .is_none_or(|types| types.contains(&job.job_type))
}

/// How many jobs `queue` may still give a claim of `n`, as the SQL claim
/// counts it: none while paused, and within its concurrency limit.
fn queue_room(
    jobs: &BTreeMap<JobId, Job>,
    settings: Option<&QueueSettings>,
    queue: &str,
    n: u32,
) -> u32 {
    let settings = settings.copied().unwrap_or_default();
    if settings.paused {
        return 0;
    }
    match settings.limit {
        None => n,
        Some(limit) => {
            let running = jobs
                .values()
                .filter(|job| job.status == JobStatus::Running && job.queue == queue)
                .count();
            let running = u32::try_from(running).unwrap_or(u32::MAX);
            n.min(limit.saturating_sub(running))
        }
    }
}

/// A queue's stored settings: paused, and its concurrency limit.
#[derive(Clone, Copy, Debug, Default)]
struct QueueSettings {
    paused: bool,
    limit: Option<u32>,
}

/// Whether `holder`'s unique key is still held at `now` (its scope lasts).
fn holds_key(holder: &Job, now: DateTime<Utc>) -> bool {
    let Some(unique) = &holder.unique else {
        return false;
    };
    match unique.scope {
        UniqueScope::WhilePending => holder.status == JobStatus::Pending,
        UniqueScope::WhileActive => !holder.status.is_terminal(),
        UniqueScope::UntilFinishedPlus(period) => {
            if !holder.status.is_terminal() {
                return true;
            }
            let finished = holder.completed_at.unwrap_or(holder.updated_at);
            time::add(finished, period).map_or(true, |until| now < until)
        }
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Enqueued>> {
        let now = self.now();
        let prepared = jobs
            .iter()
            .map(|job| crate::job::prepare(job, now, None).map(|p| p.job))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut stored = self.jobs_mut();
        let mut enqueued = Vec::with_capacity(prepared.len());
        for job in prepared {
            if let Some(unique) = &job.unique {
                let holder = stored
                    .values_mut()
                    .find(|other| other.unique.as_ref().is_some_and(|u| u.key == unique.key));
                match holder {
                    Some(holder) if holds_key(holder, now) => {
                        enqueued.push(Enqueued {
                            job: holder.clone(),
                            existing: true,
                        });
                        continue;
                    }
                    // The holder's scope is over: the key is free.
                    Some(holder) => holder.unique = None,
                    None => {}
                }
            }
            stored.insert(job.id, job.clone());
            enqueued.push(Enqueued {
                job,
                existing: false,
            });
        }
        Ok(enqueued)
    }

    async fn get(&self, id: JobId) -> StoreResult<Job> {
        self.jobs()
            .get(&id)
            .cloned()
            .ok_or(StoreError::NotFound(id))
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<JobPage> {
        query.validate()?;
        let jobs = self.jobs();
        // The oldest job a text search reads.
        let window_floor = jobs
            .keys()
            .rev()
            .nth(ListQuery::SEARCH_WINDOW as usize - 1)
            .or_else(|| jobs.keys().next())
            .copied();
        let upper = match query.cursor {
            Some(cursor) => std::ops::Bound::Excluded(cursor),
            None => std::ops::Bound::Unbounded,
        };
        let page: Vec<Job> = jobs
            .range((std::ops::Bound::Unbounded, upper))
            .rev()
            .map(|(_, job)| job)
            .filter(|job| query.status.is_none_or(|s| job.status == s))
            .filter(|job| query.job_type.as_ref().is_none_or(|t| &job.job_type == t))
            .filter(|job| {
                query
                    .correlation_id
                    .as_ref()
                    .is_none_or(|c| job.correlation_id.as_ref() == Some(c))
            })
            .filter(|job| query.queue.as_ref().is_none_or(|q| &job.queue == q))
            .filter(|job| {
                query.search_text().is_none_or(|text| {
                    super::list::search_finds(job, text, window_floor <= Some(job.id))
                })
            })
            .take(query.limit as usize + 1)
            .cloned()
            .collect();
        Ok(JobPage::from_overfetched(page, query.limit))
    }

    async fn count_by_status(&self) -> StoreResult<StatusCounts> {
        let mut counts = StatusCounts::default();
        for job in self.jobs().values() {
            counts.add(job.status, 1);
        }
        Ok(counts)
    }

    async fn count_by_type(&self) -> StoreResult<BTreeMap<String, StatusCounts>> {
        let mut counts: BTreeMap<String, StatusCounts> = BTreeMap::new();
        for job in self.jobs().values() {
            counts
                .entry(job.job_type.clone())
                .or_default()
                .add(job.status, 1);
        }
        Ok(counts)
    }

    async fn claim(&self, request: &ClaimRequest) -> StoreResult<Vec<Claimed>> {
        rules::validate_claim(request)?;
        let now = self.now();
        let lease_until = time::truncate(time::add(now, request.lease_duration)?);
        let settings = self.queue_settings().clone();
        let mut jobs = self.jobs_mut();
        let mut ready: Vec<JobId> = Vec::new();
        for queue in request.live_queues() {
            let room = queue_room(&jobs, settings.get(&queue.queue), &queue.queue, queue.limit);
            let mut due: Vec<(u8, DateTime<Utc>, JobId)> = jobs
                .values()
                .filter(|job| claimable_now(job, request, &queue.queue, now))
                .map(|job| (job.priority, job.run_at, job.id))
                .collect();
            due.sort_unstable();
            ready.extend(due.into_iter().take(room as usize).map(|(_, _, id)| id));
        }
        let mut claimed = Vec::with_capacity(ready.len());
        for id in ready {
            if let Some(job) = jobs.get_mut(&id) {
                start_attempt(job, &request.worker_id, now, lease_until);
                claimed.push(Claimed {
                    lease: Lease {
                        job_id: id,
                        attempt: job.attempt,
                    },
                    job: job.clone(),
                });
            }
        }
        Ok(claimed)
    }

    async fn claim_job(
        &self,
        id: JobId,
        worker_id: &str,
        lease_duration: Duration,
    ) -> StoreResult<Claimed> {
        rules::validate_lease_holder(worker_id, lease_duration)?;
        let now = self.now();
        let lease_until = time::truncate(time::add(now, lease_duration)?);
        let mut jobs = self.jobs_mut();
        let job = jobs.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        if job.status != JobStatus::Pending {
            return Err(StoreError::InvalidTransition {
                id,
                action: "claim",
                status: job.status,
            });
        }
        start_attempt(job, worker_id, now, lease_until);
        Ok(Claimed {
            lease: Lease {
                job_id: id,
                attempt: job.attempt,
            },
            job: job.clone(),
        })
    }

    async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> StoreResult<Heartbeat> {
        self.with_lease(lease, |job, now| {
            let until = time::truncate(time::add(now, extend_by)?);
            job.lease_expires_at = Some(until);
            job.updated_at = now;
            Ok(Heartbeat {
                lease_expires_at: until,
                cancel_requested: job.cancel_requested,
            })
        })
    }

    async fn progress(&self, lease: &Lease, progress: &Progress) -> StoreResult<()> {
        progress.validate()?;
        self.with_lease(lease, |job, now| {
            job.stage = Some(progress.stage.clone());
            job.progress = progress.percent;
            job.updated_at = now;
            Ok(())
        })
    }

    async fn complete(&self, lease: &Lease, result: serde_json::Value) -> StoreResult<()> {
        self.with_lease(lease, |job, now| {
            job.result = Some(result);
            leave_running(job, JobStatus::Completed, now);
            Ok(())
        })
    }

    async fn complete_many(
        &self,
        completions: Vec<Completion>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        let mut outcomes = Vec::with_capacity(completions.len());
        for c in completions {
            outcomes.push(self.complete(&c.lease, c.result).await);
        }
        Ok(outcomes)
    }

    async fn complete_and_claim(
        &self,
        completions: Vec<Completion>,
        request: &ClaimRequest,
    ) -> StoreResult<Exchange> {
        rules::validate_claim(request)?;
        // Neither step can fail part-way here, so taking the lock for each
        // in turn ends in the state one transaction would.
        let completed = self.complete_many(completions).await?;
        let claimed = self.claim(request).await?;
        Ok(Exchange { completed, claimed })
    }

    async fn poll(
        &self,
        completions: Vec<Completion>,
        request: Option<&ClaimRequest>,
    ) -> StoreResult<Polled> {
        let exchange = match request {
            Some(request) => self.complete_and_claim(completions, request).await?,
            None => Exchange {
                completed: self.complete_many(completions).await?,
                claimed: Vec::new(),
            },
        };
        let now = self.now();
        let next_tick = self
            .schedules()
            .values()
            .filter(|s| s.enabled)
            .map(|s| s.next_run_at)
            .min();
        let jobs = self.jobs();
        let expired_leases = jobs.values().any(|job| {
            job.status == JobStatus::Running && job.lease_expires_at.is_some_and(|at| at < now)
        });
        let paused: Vec<String> = self
            .queue_settings()
            .iter()
            .filter(|(_, settings)| settings.paused)
            .map(|(name, _)| name.clone())
            .collect();
        let next_due = request.and_then(|request| {
            jobs.values()
                .filter(|job| job.status == JobStatus::Pending)
                .filter(|job| request.live_queues().any(|q| q.queue == job.queue))
                .filter(|job| !paused.contains(&job.queue))
                .map(|job| job.run_at)
                .min()
        });
        Ok(Polled {
            exchange,
            chores: Chores {
                expired_leases,
                next_tick,
                next_due,
            },
        })
    }

    async fn fail(&self, lease: &Lease, failure: &Failure) -> StoreResult<FailOutcome> {
        self.with_lease(lease, |job, now| {
            let next = rules::after_failure(
                job.retry_count,
                job.max_attempts,
                job.cancel_requested,
                failure.kind,
                now,
            )?;
            let outcome = match next {
                AfterFailure::Retry { .. } => AttemptEnd::Retried,
                AfterFailure::Fail => AttemptEnd::Failed,
                AfterFailure::Cancel => AttemptEnd::Cancelled,
            };
            self.record_attempt(job, outcome, now, Some(&failure.message), None);
            job.error = Some(failure.message.clone());
            Ok(match next {
                AfterFailure::Retry {
                    run_at,
                    retry_count,
                } => {
                    leave_running(job, JobStatus::Pending, now);
                    job.run_at = run_at;
                    job.retry_count = retry_count;
                    FailOutcome::Retrying {
                        run_at,
                        retry_count,
                    }
                }
                AfterFailure::Fail => {
                    leave_running(job, JobStatus::Failed, now);
                    FailOutcome::Failed
                }
                AfterFailure::Cancel => {
                    leave_running(job, JobStatus::Cancelled, now);
                    FailOutcome::Cancelled
                }
            })
        })
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        self.with_lease(lease, |job, now| {
            self.record_attempt(job, AttemptEnd::Released, now, None, None);
            leave_running(job, JobStatus::Pending, now);
            Ok(())
        })
    }

    async fn mark_cancelled(&self, lease: &Lease) -> StoreResult<()> {
        self.with_lease(lease, |job, now| {
            self.record_attempt(job, AttemptEnd::Cancelled, now, None, None);
            leave_running(job, JobStatus::Cancelled, now);
            Ok(())
        })
    }

    async fn cancel(&self, id: JobId) -> StoreResult<CancelOutcome> {
        let now = self.now();
        let mut jobs = self.jobs_mut();
        let job = jobs.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        Ok(match job.status {
            JobStatus::Pending => {
                job.status = JobStatus::Cancelled;
                job.updated_at = now;
                job.completed_at = Some(now);
                CancelOutcome::Cancelled
            }
            JobStatus::Running => {
                job.cancel_requested = true;
                job.updated_at = now;
                CancelOutcome::Requested
            }
            finished => CancelOutcome::AlreadyFinished(finished),
        })
    }

    async fn rescue_expired(&self) -> StoreResult<RescueSummary> {
        Ok(self.rescue(None))
    }

    async fn rescue_expired_by(&self, rescuer: &str) -> StoreResult<RescueSummary> {
        Ok(self.rescue(Some(rescuer)))
    }

    async fn attempts(&self, id: JobId) -> StoreResult<Vec<AttemptRecord>> {
        let job = self.get(id).await?;
        let mut recorded = self
            .attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
            .unwrap_or_default();
        let workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let host_of = |worker: &Option<String>| {
            worker
                .as_ref()
                .and_then(|id| workers.get(id))
                .map(|w| w.info.host.clone())
        };
        for record in &mut recorded {
            record.host = host_of(&record.worker);
        }
        let host = host_of(&job.locked_by);
        Ok(crate::store::attempts::with_current(&job, recorded, host))
    }

    async fn queue_position(&self, id: JobId) -> StoreResult<Option<u64>> {
        let jobs = self.jobs();
        let job = jobs.get(&id).ok_or(StoreError::NotFound(id))?;
        if job.status != JobStatus::Pending {
            return Ok(None);
        }
        let now = self.now();
        if job.run_at > now {
            return Ok(None);
        }
        let key = (job.priority, job.run_at, job.id);
        let ahead = jobs
            .values()
            .filter(|other| {
                other.status == JobStatus::Pending
                    && other.queue == job.queue
                    && other.run_at <= now
                    && (other.priority, other.run_at, other.id) < key
            })
            .count();
        Ok(Some(ahead as u64))
    }

    async fn claimable(&self, request: &ClaimRequest) -> StoreResult<bool> {
        rules::validate_claim(request)?;
        let now = self.now();
        let settings = self.queue_settings().clone();
        let jobs = self.jobs();
        Ok(request.live_queues().any(|queue| {
            queue_room(&jobs, settings.get(&queue.queue), &queue.queue, 1) > 0
                && jobs
                    .values()
                    .any(|job| claimable_now(job, request, &queue.queue, now))
        }))
    }

    async fn queues(&self) -> StoreResult<Vec<QueueInfo>> {
        Ok(self.queue_infos())
    }

    async fn set_queue_paused(&self, queue: &str, paused: bool) -> StoreResult<QueueInfo> {
        self.change_queue(queue, |settings| settings.paused = paused)
    }

    async fn set_queue_limit(&self, queue: &str, limit: Option<u32>) -> StoreResult<QueueInfo> {
        rules::validate_queue_limit(limit)?;
        self.change_queue(queue, |settings| settings.limit = limit)
    }

    fn changes(&self) -> Option<ChangeFeed> {
        Some(self.changes.clone())
    }

    async fn announce_worker(&self, info: &WorkerInfo) -> StoreResult<()> {
        info.validate()?;
        let now = self.now();
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let keep = chrono::Duration::from_std(crate::store::workers::KEEP_GONE)
            .unwrap_or(chrono::Duration::MAX);
        workers.retain(|_, w| {
            chrono::Duration::from_std(w.info.lease)
                .ok()
                .and_then(|lease| w.last_seen_at.checked_add_signed(lease + keep))
                .is_none_or(|until| until >= now)
        });
        let anew = workers.get(&info.id).is_none_or(|w| {
            w.stopped_at.is_some()
                || !worker_alive(w, now)
                || w.info.pid != info.pid
                || w.info.host != info.host
        });
        let started_at = match workers.get(&info.id) {
            Some(w) if !anew => w.started_at,
            _ => now,
        };
        workers.insert(
            info.id.clone(),
            WorkerRecord {
                info: info.clone(),
                started_at,
                last_seen_at: now,
                stopped_at: None,
                alive: true,
                running: 0,
            },
        );
        Ok(())
    }

    async fn retire_worker(&self, id: &str) -> StoreResult<()> {
        let now = self.now();
        if let Some(w) = self
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(id)
        {
            w.stopped_at = Some(now);
            w.last_seen_at = now;
        }
        Ok(())
    }

    async fn activity(
        &self,
        window: &crate::store::ActivityWindow,
    ) -> StoreResult<Vec<crate::store::QueueActivity>> {
        window.validate()?;
        Ok(super::activity::from_jobs(window, self.jobs().values()))
    }

    async fn workers(&self) -> StoreResult<Vec<WorkerRecord>> {
        let now = self.now();
        let jobs = self.jobs();
        let workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let keep = chrono::Duration::from_std(crate::store::workers::KEEP_GONE)
            .unwrap_or(chrono::Duration::MAX);
        let mut list: Vec<WorkerRecord> = workers
            .values()
            .filter(|w| {
                chrono::Duration::from_std(w.info.lease)
                    .ok()
                    .and_then(|lease| w.last_seen_at.checked_add_signed(lease + keep))
                    .is_none_or(|until| until >= now)
            })
            .map(|w| {
                let mut w = w.clone();
                w.alive = w.stopped_at.is_none() && worker_alive(&w, now);
                w.running = jobs
                    .values()
                    .filter(|j| {
                        j.status == JobStatus::Running && j.locked_by.as_deref() == Some(&w.info.id)
                    })
                    .count() as u64;
                w
            })
            .collect();
        list.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then(a.info.id.cmp(&b.info.id))
        });
        Ok(list)
    }

    async fn bulk(&self, action: BulkAction, filter: &JobFilter) -> StoreResult<BulkOutcome> {
        filter.validate_for(action.as_str())?;
        let now = self.now();
        let mut jobs = self.jobs_mut();
        let (matched, applies, requests) = bulk_targets(&jobs, action, filter);
        let mut applied = 0;
        for id in &applies {
            match action {
                BulkAction::Retry => {
                    if let Some(original) = jobs.get(id) {
                        let new = crate::job::retry_of(original)?;
                        let prepared = crate::job::prepare(&new, now, Some(*id))?;
                        jobs.insert(prepared.job.id, prepared.job);
                        applied += 1;
                    }
                }
                BulkAction::Cancel => {
                    if let Some(job) = jobs.get_mut(id) {
                        job.status = JobStatus::Cancelled;
                        job.updated_at = now;
                        job.completed_at = Some(now);
                        applied += 1;
                    }
                }
                BulkAction::Delete => {
                    if jobs.remove(id).is_some() {
                        self.forget_attempts(std::slice::from_ref(id));
                        applied += 1;
                    }
                }
            }
        }
        let mut requested = 0;
        for id in &requests {
            if let Some(job) = jobs.get_mut(id) {
                job.cancel_requested = true;
                job.updated_at = now;
                requested += 1;
            }
        }
        Ok(BulkOutcome::new(action, false, matched, applied, requested))
    }

    async fn bulk_preview(
        &self,
        action: BulkAction,
        filter: &JobFilter,
    ) -> StoreResult<BulkOutcome> {
        filter.validate_for(action.as_str())?;
        let (matched, applies, requests) = bulk_targets(&self.jobs(), action, filter);
        Ok(BulkOutcome::new(
            action,
            true,
            matched,
            applies.len() as u64,
            requests.len() as u64,
        ))
    }

    async fn prune(&self, filter: &JobFilter, limit: u32) -> StoreResult<u64> {
        rules::validate_prune(filter, limit)?;
        let mut jobs = self.jobs_mut();
        let doomed: Vec<JobId> = jobs
            .values()
            .filter(|job| filter.matches(job))
            .take(limit as usize)
            .map(|job| job.id)
            .collect();
        for id in &doomed {
            jobs.remove(id);
        }
        self.forget_attempts(&doomed);
        Ok(doomed.len() as u64)
    }

    async fn retry(&self, id: JobId) -> StoreResult<Job> {
        let now = self.now();
        let mut jobs = self.jobs_mut();
        let original = jobs.get(&id).ok_or(StoreError::NotFound(id))?;
        let new = crate::job::retry_of(original)?;
        let prepared = crate::job::prepare(&new, now, Some(id))?;
        jobs.insert(prepared.job.id, prepared.job.clone());
        Ok(prepared.job)
    }
}

#[async_trait]
impl CronStore for MemoryStore {
    async fn declare_schedule(&self, schedule: &NewCronSchedule) -> StoreResult<CronSchedule> {
        let now = self.now();
        let mut schedules = self.schedules_mut();
        let existing = schedules.get(schedule.name()).cloned();
        let stored = cron::rules::declare(schedule, existing, now)?;
        schedules.insert(stored.name.clone(), stored.clone());
        Ok(stored)
    }

    async fn get_schedule(&self, name: &str) -> StoreResult<CronSchedule> {
        self.schedules()
            .get(name)
            .cloned()
            .ok_or_else(|| StoreError::ScheduleNotFound(name.to_string()))
    }

    async fn list_schedules(&self) -> StoreResult<Vec<CronSchedule>> {
        Ok(self.schedules().values().cloned().collect())
    }

    async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> StoreResult<CronSchedule> {
        let now = self.now();
        let mut schedules = self.schedules_mut();
        let schedule = schedules
            .get_mut(name)
            .ok_or_else(|| StoreError::ScheduleNotFound(name.to_string()))?;
        if let Some(changed) = cron::rules::set_enabled(schedule, enabled, now)? {
            *schedule = changed;
        }
        Ok(schedule.clone())
    }

    async fn delete_schedule(&self, name: &str) -> StoreResult<()> {
        self.schedules_mut()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| StoreError::ScheduleNotFound(name.to_string()))
    }

    async fn fire_due_schedules(&self) -> StoreResult<CronFiring> {
        let now = self.now();
        let mut schedules = self.schedules_mut();
        let mut firing = CronFiring::default();
        for schedule in schedules.values_mut() {
            if !schedule.enabled || schedule.next_run_at > now {
                continue;
            }
            let fire = match cron::rules::fire(schedule, now) {
                Ok(fire) => fire,
                Err(error) => {
                    firing.skipped.push(format!("{}: {error}", schedule.name));
                    continue;
                }
            };
            let fired = fire.fired();
            let job_id = fire.job.job.id;
            self.jobs_mut().insert(job_id, fire.job.job);
            schedule.last_run_at = Some(fire.tick);
            schedule.next_run_at = fire.next_run_at;
            schedule.last_job_id = Some(job_id);
            schedule.updated_at = now;
            firing.fired.push(fired);
        }
        firing.next_tick = schedules
            .values()
            .filter(|s| s.enabled)
            .map(|s| s.next_run_at)
            .min();
        Ok(firing)
    }
}

/// The jobs `filter` matches for `action`: how many, those the action
/// changes, and those it asks to stop (a cancel's running jobs).
fn bulk_targets(
    jobs: &BTreeMap<JobId, Job>,
    action: BulkAction,
    filter: &JobFilter,
) -> (u64, Vec<JobId>, Vec<JobId>) {
    let retried: std::collections::HashSet<JobId> =
        jobs.values().filter_map(|job| job.retry_of).collect();
    let mut matched = 0;
    let mut applies = Vec::new();
    let mut requests = Vec::new();
    for job in jobs.values().filter(|job| filter.matches(job)) {
        matched += 1;
        match (action, job.status) {
            (BulkAction::Retry, JobStatus::Failed | JobStatus::Cancelled)
                if !retried.contains(&job.id) =>
            {
                applies.push(job.id)
            }
            (BulkAction::Cancel, JobStatus::Pending) => applies.push(job.id),
            (BulkAction::Cancel, JobStatus::Running) if !job.cancel_requested => {
                requests.push(job.id)
            }
            (BulkAction::Delete, status) if status != JobStatus::Running => applies.push(job.id),
            _ => {}
        }
    }
    (matched, applies, requests)
}

/// Whether `worker` was seen within its lease at `now`.
fn worker_alive(worker: &WorkerRecord, now: DateTime<Utc>) -> bool {
    chrono::Duration::from_std(worker.info.lease)
        .ok()
        .and_then(|lease| worker.last_seen_at.checked_add_signed(lease))
        .is_none_or(|until| until >= now)
}

/// Moves a pending job to running for `worker_id`: the next attempt.
fn start_attempt(job: &mut Job, worker_id: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) {
    job.status = JobStatus::Running;
    job.attempt += 1;
    job.locked_by = Some(worker_id.to_string());
    job.lease_expires_at = Some(lease_until);
    job.started_at = Some(now);
    job.updated_at = now;
    job.stage = None;
    job.progress = None;
}
