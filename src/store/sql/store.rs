//! The [`JobStore`] every SQL backend is: the shared statements, run
//! through the backend's [`Executor`].

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::batch::{Batch, Executor};
use super::{bulk, cancel, claim, create, cron, lease, queues, read, workers, Outputs};
use crate::clock::SharedClock;
use crate::cron::{rules as cron_rules, CronFiring, CronSchedule, NewCronSchedule};
use crate::error::{StoreError, StoreResult};
use crate::job::{prepare, validate_queue_name, Job, JobId, JobStatus, NewJob, Progress};
use crate::store::{
    aborts_group, rules, AttemptRecord, BulkAction, BulkOutcome, CancelOutcome, Chores,
    ClaimRequest, Claimed, Completion, CronStore, Enqueued, Exchange, FailOutcome, Failure,
    Heartbeat, JobFilter, JobPage, JobStore, Lease, ListQuery, Polled, QueueInfo, RescueSummary,
    StatusCounts, WorkerInfo, WorkerRecord,
};
use crate::time;

/// A [`JobStore`] on a SQL database reached through `E`.
#[derive(Clone, Debug)]
pub(crate) struct SqlStore<E> {
    exec: E,
    clock: SharedClock,
}

impl<E: Executor> SqlStore<E> {
    /// The store whose batches `exec` runs, reading time from `clock`.
    pub(crate) fn new(exec: E, clock: SharedClock) -> Self {
        SqlStore { exec, clock }
    }

    /// The executor.
    pub(crate) fn executor(&self) -> &E {
        &self.exec
    }

    fn now(&self) -> DateTime<Utc> {
        time::truncate(self.clock.now())
    }

    async fn run(&self, batch: Batch) -> StoreResult<Outputs> {
        self.exec.run(batch).await.map(Outputs::new)
    }

    /// Why each of `leases` wrote nothing: lost, or its job gone.
    async fn lease_errors(&self, leases: &[Lease]) -> StoreResult<Vec<StoreError>> {
        let ids: Vec<JobId> = leases.iter().map(|lease| lease.job_id).collect();
        lease::lease_errors(leases, self.run(lease::lease_states(&ids)).await?)
    }

    /// Why the write through `lease` changed nothing.
    async fn lease_error(&self, lease: &Lease) -> StoreError {
        match self.lease_errors(std::slice::from_ref(lease)).await {
            Ok(mut errors) => errors.pop().unwrap_or(StoreError::NotFound(lease.job_id)),
            Err(error) => error,
        }
    }

    /// Runs the one guarded write `batch` of `lease`: `Ok` when it changed
    /// the job, else why not.
    async fn guarded(&self, lease: &Lease, batch: Batch) -> StoreResult<()> {
        if self.run(batch).await?.next_changes()? == 0 {
            return Err(self.lease_error(lease).await);
        }
        Ok(())
    }

    /// Writes `completions` (and `claim`, if any, after them) in one batch;
    /// with `look`, the batch also reads what else needs doing.
    ///
    /// On a local file each completion is one statement, in order; against
    /// a server all are one statement (see [`lease::complete`]). Why one was refused is
    /// read afterwards, only when one was (the job as it is then, unless
    /// this batch's claim took it, which tells how it was before). A group
    /// that names a job twice (a caller's mistake) has each completion
    /// followed by a read of its job, so that a refusal tells the job as
    /// it was then, not as a later completion left it.
    async fn exchange(
        &self,
        completions: &[Completion],
        claim: Option<&ClaimRequest>,
        look: bool,
    ) -> StoreResult<Polled> {
        let now = self.now();
        // A result that cannot be written is refused alone.
        let mut completed: Vec<Option<StoreResult<()>>> = Vec::with_capacity(completions.len());
        let mut written = Vec::with_capacity(completions.len());
        let mut results = Vec::with_capacity(completions.len());
        for completion in completions {
            match serde_json::to_string(&completion.result) {
                Ok(result) => {
                    written.push(completion.lease);
                    results.push(result);
                    completed.push(None);
                }
                Err(e) => completed.push(Some(Err(StoreError::InvalidInput(format!(
                    "result is not valid JSON: {e}"
                ))))),
            }
        }
        let one_by_one = parts(&written, |lease| lease.job_id).len() > 1;
        let singly = one_by_one || self.exec.keeps_statements_prepared();
        let mut statements = Vec::with_capacity(written.len() * 2 + 5);
        if singly {
            for (lease, result) in written.iter().zip(results) {
                statements.push(lease::complete(lease, result, now));
                if one_by_one {
                    statements.push(lease::lease_state(&[lease.job_id]));
                }
            }
        } else if !written.is_empty() {
            statements.push(lease::complete_all(&written, results, now));
        }
        let claims = match claim {
            Some(request) if !claims_nothing(request) => {
                statements.extend(claim::claim(request, now)?);
                Some(request)
            }
            _ => None,
        };
        let writes = !statements.is_empty();
        let looks_due = look && claim.is_some();
        if look {
            statements.push(cancel::any_expired(now));
            statements.push(cron::next_tick());
        }
        if let (true, Some(request)) = (looks_due, claim) {
            statements.push(claim::next_due(request));
        }
        let mut outputs = if statements.is_empty() {
            Outputs::new(Vec::new())
        } else if writes {
            self.run(Batch::write(statements)).await?
        } else {
            self.run(Batch::read(statements)).await?
        };
        // Each written completion's outcome, in order: `None` for a
        // refusal whose reason is read below.
        let mut outcomes: Vec<Option<StoreResult<()>>> = Vec::with_capacity(written.len());
        if singly {
            for lease in &written {
                let done = lease::completed(&mut outputs)?;
                let refusal = if one_by_one {
                    lease::read_lease_errors(&[*lease], &mut outputs)?.pop()
                } else {
                    None
                };
                outcomes.push(if done { Some(Ok(())) } else { refusal.map(Err) });
            }
        } else if !written.is_empty() {
            let done: HashSet<Lease> = lease::completed_all(&mut outputs)?.into_iter().collect();
            outcomes.extend(
                written
                    .iter()
                    .map(|lease| done.contains(lease).then_some(Ok(()))),
            );
        }
        let claimed = match claims {
            Some(request) => claim::claimed(request, now, &mut outputs)?,
            None => Vec::new(),
        };
        let mut outcomes = outcomes.into_iter();
        let mut completed: Vec<Option<StoreResult<()>>> = completed
            .into_iter()
            .map(|refused| refused.or_else(|| outcomes.next().flatten()))
            .collect();
        let chores = if look {
            Chores {
                expired_leases: cancel::read_any_expired(&mut outputs)?,
                next_tick: cron::read_next_tick(&mut outputs)?,
                next_due: if looks_due {
                    read::read_next_due(&mut outputs)?
                } else {
                    None
                },
            }
        } else {
            Chores::default()
        };
        self.explain_refusals(completions, &mut completed, &claimed)
            .await?;
        let completed: Vec<StoreResult<()>> = completed
            .into_iter()
            .map(|c| c.unwrap_or_else(|| Err(StoreError::database("a completion went unanswered"))))
            .collect();
        debug_assert!(completed
            .iter()
            .all(|c| c.as_ref().err().is_none_or(|e| !aborts_group(e))));
        Ok(Polled {
            exchange: Exchange { completed, claimed },
            chores,
        })
    }
}

impl<E: Executor> SqlStore<E> {
    /// Fills in why each completion still without an outcome was refused:
    /// a job this batch's claim took was pending one attempt earlier when
    /// its completion was refused; the others are read as they are now.
    async fn explain_refusals(
        &self,
        completions: &[Completion],
        completed: &mut [Option<StoreResult<()>>],
        claimed: &[Claimed],
    ) -> StoreResult<()> {
        let mut unexplained = Vec::new();
        for (at, completion) in completions.iter().enumerate() {
            if completed[at].is_some() {
                continue;
            }
            let lease = completion.lease;
            match claimed.iter().find(|c| c.job.id == lease.job_id) {
                Some(taken) => {
                    completed[at] = Some(Err(rules::lease_lost(
                        lease.job_id,
                        lease.attempt,
                        JobStatus::Pending,
                        taken.lease.attempt.saturating_sub(1),
                    )))
                }
                None => unexplained.push((at, lease)),
            }
        }
        if unexplained.is_empty() {
            return Ok(());
        }
        let leases: Vec<Lease> = unexplained.iter().map(|(_, lease)| *lease).collect();
        let errors = self.lease_errors(&leases).await?;
        for ((at, _), error) in unexplained.into_iter().zip(errors) {
            completed[at] = Some(Err(error));
        }
        Ok(())
    }
}

/// `items` as the parts that each take one statement keyed by job id: all
/// of them together, or, when they name a job twice (a caller's mistake),
/// one by one, so that each finds the job as the one before left it.
fn parts<T>(items: &[T], job: impl Fn(&T) -> JobId) -> Vec<&[T]> {
    if items.is_empty() {
        return Vec::new();
    }
    let distinct = items.iter().map(job).collect::<HashSet<_>>().len() == items.len();
    if distinct {
        vec![items]
    } else {
        items.chunks(1).collect()
    }
}

/// Whether `request` can claim nothing at all (an empty list of types, or
/// no queue with a limit above zero).
fn claims_nothing(request: &ClaimRequest) -> bool {
    request.job_types.as_ref().is_some_and(Vec::is_empty) || request.live_queues().next().is_none()
}

#[async_trait]
impl<E: Executor> JobStore for SqlStore<E> {
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Enqueued>> {
        let now = self.now();
        let prepared = jobs
            .iter()
            .map(|job| prepare(job, now, None))
            .collect::<StoreResult<Vec<_>>>()?;
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        let outputs = self.run(create::enqueue(&prepared, now)).await?;
        create::enqueued(prepared, outputs)
    }

    async fn get(&self, id: JobId) -> StoreResult<Job> {
        read::got(id, self.run(read::get(id)).await?)
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<JobPage> {
        query.validate()?;
        read::listed(query, self.run(read::list(query)).await?)
    }

    async fn count_by_status(&self) -> StoreResult<StatusCounts> {
        read::counted_by_status(self.run(read::count_by_status()).await?)
    }

    async fn count_by_type(&self) -> StoreResult<BTreeMap<String, StatusCounts>> {
        read::counted_by_type(self.run(read::count_by_type()).await?)
    }

    async fn claim(&self, request: &ClaimRequest) -> StoreResult<Vec<Claimed>> {
        rules::validate_claim(request)?;
        if claims_nothing(request) {
            return Ok(Vec::new());
        }
        let now = self.now();
        let statements = claim::claim(request, now)?;
        claim::claimed(request, now, &mut self.run(Batch::write(statements)).await?)
    }

    async fn claim_job(
        &self,
        id: JobId,
        worker_id: &str,
        lease_duration: Duration,
    ) -> StoreResult<Claimed> {
        rules::validate_lease_holder(worker_id, lease_duration)?;
        let batch = claim::claim_job(id, worker_id, lease_duration, self.now())?;
        claim::claimed_job(id, self.run(batch).await?)
    }

    async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> StoreResult<Heartbeat> {
        let mut beats = self
            .heartbeat_many(std::slice::from_ref(lease), extend_by)
            .await?;
        beats
            .pop()
            .unwrap_or(Err(StoreError::NotFound(lease.job_id)))
    }

    async fn heartbeat_many(
        &self,
        leases: &[Lease],
        extend_by: Duration,
    ) -> StoreResult<Vec<StoreResult<Heartbeat>>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let until = lease::extended_until(now, extend_by)?;
        let parts = parts(leases, |lease| lease.job_id);
        let statements = parts
            .iter()
            .map(|part| lease::heartbeat(part, now, until))
            .collect();
        let mut outputs = self.run(Batch::write(statements)).await?;
        let mut beats = Vec::with_capacity(leases.len());
        for part in &parts {
            beats.extend(lease::heartbeats(part, until, &mut outputs)?);
        }
        let lost: Vec<Lease> = leases
            .iter()
            .zip(&beats)
            .filter(|(_, beat)| beat.is_none())
            .map(|(lease, _)| *lease)
            .collect();
        let mut errors = if lost.is_empty() {
            Vec::new()
        } else {
            self.lease_errors(&lost).await?
        }
        .into_iter();
        Ok(beats
            .into_iter()
            .map(|beat| {
                beat.ok_or_else(|| {
                    errors
                        .next()
                        .unwrap_or_else(|| StoreError::database("a lease went unanswered"))
                })
            })
            .collect())
    }

    async fn cancel_requested(&self, leases: &[Lease]) -> StoreResult<Vec<Lease>> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        lease::cancels_requested(leases, self.run(lease::cancel_requested(leases)).await?)
    }

    async fn progress(&self, lease: &Lease, progress: &Progress) -> StoreResult<()> {
        progress.validate()?;
        let statement = lease::progress(lease, self.now(), progress);
        self.guarded(lease, Batch::write(vec![statement])).await
    }

    async fn complete(&self, lease: &Lease, result: serde_json::Value) -> StoreResult<()> {
        let completion = Completion::new(*lease, result);
        let polled = self
            .exchange(std::slice::from_ref(&completion), None, false)
            .await?;
        polled
            .exchange
            .completed
            .into_iter()
            .next()
            .unwrap_or(Err(StoreError::NotFound(lease.job_id)))
    }

    async fn complete_many(
        &self,
        completions: Vec<Completion>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .exchange(&completions, None, false)
            .await?
            .exchange
            .completed)
    }

    async fn complete_and_claim(
        &self,
        completions: Vec<Completion>,
        request: &ClaimRequest,
    ) -> StoreResult<Exchange> {
        rules::validate_claim(request)?;
        Ok(self
            .exchange(&completions, Some(request), false)
            .await?
            .exchange)
    }

    async fn poll(
        &self,
        completions: Vec<Completion>,
        request: Option<&ClaimRequest>,
    ) -> StoreResult<Polled> {
        if let Some(request) = request {
            rules::validate_claim(request)?;
        }
        self.exchange(&completions, request, true).await
    }

    async fn fail(&self, lease: &Lease, failure: &Failure) -> StoreResult<FailOutcome> {
        let statements = lease::fail(lease, self.now(), failure);
        match lease::failed(&mut self.run(Batch::write(statements)).await?)? {
            Some(outcome) => Ok(outcome),
            None => Err(self.lease_error(lease).await),
        }
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        let statements = lease::leave_running(lease, self.now(), JobStatus::Pending);
        self.guarded(lease, Batch::write(statements)).await
    }

    async fn mark_cancelled(&self, lease: &Lease) -> StoreResult<()> {
        let statements = lease::leave_running(lease, self.now(), JobStatus::Cancelled);
        self.guarded(lease, Batch::write(statements)).await
    }

    async fn cancel(&self, id: JobId) -> StoreResult<CancelOutcome> {
        cancel::cancelled(id, self.run(cancel::cancel(id, self.now())).await?)
    }

    async fn rescue_expired(&self) -> StoreResult<RescueSummary> {
        cancel::rescued(self.run(cancel::rescue(self.now(), None)).await?)
    }

    async fn rescue_expired_by(&self, rescuer: &str) -> StoreResult<RescueSummary> {
        cancel::rescued(self.run(cancel::rescue(self.now(), Some(rescuer))).await?)
    }

    async fn attempts(&self, id: JobId) -> StoreResult<Vec<AttemptRecord>> {
        read::attempts_read(id, self.run(read::attempts(id)).await?)
    }

    async fn queue_position(&self, id: JobId) -> StoreResult<Option<u64>> {
        let ids = [id];
        let mut positions = read::queue_positioned(
            &ids,
            self.run(read::queue_positions(&ids, self.now())).await?,
        )?;
        positions.pop().flatten().ok_or(StoreError::NotFound(id))
    }

    async fn queue_positions(&self, ids: &[JobId]) -> StoreResult<Vec<Option<u64>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let batch = read::queue_positions(ids, self.now());
        let positions = read::queue_positioned(ids, self.run(batch).await?)?;
        Ok(positions.into_iter().map(Option::flatten).collect())
    }

    async fn retry(&self, id: JobId) -> StoreResult<Job> {
        let now = self.now();
        let new_id = JobId::new_at(now);
        create::retried(id, self.run(create::retry(id, new_id, now)).await?)
    }

    async fn announce_worker(&self, info: &WorkerInfo) -> StoreResult<()> {
        info.validate()?;
        self.run(workers::announce(info, self.now())?).await?;
        Ok(())
    }

    async fn retire_worker(&self, id: &str) -> StoreResult<()> {
        self.run(workers::retire(id, self.now())).await?;
        Ok(())
    }

    async fn workers(&self) -> StoreResult<Vec<WorkerRecord>> {
        let now = self.now();
        workers::listed(self.run(workers::list(now)).await?, now)
    }

    async fn activity(
        &self,
        window: &crate::store::ActivityWindow,
    ) -> StoreResult<Vec<crate::store::QueueActivity>> {
        window.validate()?;
        super::activity::report(window, self.run(super::activity::read(window)).await?)
    }

    async fn bulk(&self, action: BulkAction, filter: &JobFilter) -> StoreResult<BulkOutcome> {
        filter.validate_for(action.as_str())?;
        let outputs = self.run(bulk::apply(action, filter, self.now())).await?;
        bulk::applied(action, outputs)
    }

    async fn bulk_preview(
        &self,
        action: BulkAction,
        filter: &JobFilter,
    ) -> StoreResult<BulkOutcome> {
        filter.validate_for(action.as_str())?;
        bulk::previewed(action, self.run(bulk::preview(action, filter)).await?)
    }

    async fn prune(&self, filter: &JobFilter, limit: u32) -> StoreResult<u64> {
        rules::validate_prune(filter, limit)?;
        let pruned = bulk::pruned(self.run(bulk::prune(filter, limit)?).await?)?;
        if pruned > 0 && self.exec.has_file() {
            // The jobs are gone whatever happens here: a file that cannot
            // shrink now does at the next prune.
            if let Err(error) = self
                .run(Batch::alone(vec![bulk::incremental_vacuum()]))
                .await
            {
                tracing::warn!(%error, "pruned, but could not give the freed pages back yet");
            }
        }
        Ok(pruned)
    }

    async fn vacuum(&self, full: bool) -> StoreResult<Option<u64>> {
        if !self.exec.has_file() {
            return Ok(None);
        }
        let statements = if full {
            bulk::full_vacuum()
        } else {
            vec![bulk::incremental_vacuum()]
        };
        self.run(Batch::alone(statements)).await?;
        bulk::file_size(self.run(bulk::size()).await?).map(Some)
    }

    async fn claimable(&self, request: &ClaimRequest) -> StoreResult<bool> {
        rules::validate_claim(request)?;
        if claims_nothing(request) {
            return Ok(false);
        }
        let mut outputs = self.run(claim::claimable(request, self.now())).await?;
        claim::read_claimable(&mut outputs)
    }

    async fn queues(&self) -> StoreResult<Vec<QueueInfo>> {
        queues::listed(&mut self.run(queues::list(self.now())).await?)
    }

    async fn set_queue_paused(&self, queue: &str, paused: bool) -> StoreResult<QueueInfo> {
        validate_queue_name(queue)?;
        let batch = queues::set_paused(queue, paused, self.now());
        queues::changed(queue, self.run(batch).await?)
    }

    async fn set_queue_limit(&self, queue: &str, limit: Option<u32>) -> StoreResult<QueueInfo> {
        validate_queue_name(queue)?;
        rules::validate_queue_limit(limit)?;
        let batch = queues::set_limit(queue, limit, self.now());
        queues::changed(queue, self.run(batch).await?)
    }
}

#[async_trait]
impl<E: Executor> CronStore for SqlStore<E> {
    async fn declare_schedule(&self, schedule: &NewCronSchedule) -> StoreResult<CronSchedule> {
        schedule.validate()?;
        let existing = cron::found(self.run(cron::get(schedule.name())).await?)?;
        let stored = cron_rules::declare(schedule, existing, self.now())?;
        self.run(cron::save(&stored)?).await?;
        Ok(stored)
    }

    async fn get_schedule(&self, name: &str) -> StoreResult<CronSchedule> {
        cron::found(self.run(cron::get(name)).await?)?
            .ok_or_else(|| StoreError::ScheduleNotFound(name.to_string()))
    }

    async fn list_schedules(&self) -> StoreResult<Vec<CronSchedule>> {
        cron::listed(self.run(cron::list()).await?)
    }

    async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> StoreResult<CronSchedule> {
        let schedule = self.get_schedule(name).await?;
        match cron_rules::set_enabled(&schedule, enabled, self.now())? {
            Some(changed) => {
                self.run(cron::save(&changed)?).await?;
                Ok(changed)
            }
            None => Ok(schedule),
        }
    }

    async fn delete_schedule(&self, name: &str) -> StoreResult<()> {
        if self.run(cron::delete(name)).await?.next_changes()? == 0 {
            return Err(StoreError::ScheduleNotFound(name.to_string()));
        }
        Ok(())
    }

    async fn fire_due_schedules(&self) -> StoreResult<CronFiring> {
        let now = self.now();
        // Read without the write lock: most passes find nothing due.
        let (due, next_tick) = cron::dues(self.run(cron::due(now)).await?)?;
        let mut firing = CronFiring {
            next_tick,
            ..CronFiring::default()
        };
        let mut fires = Vec::with_capacity(due.len());
        for schedule in &due {
            match cron_rules::fire(schedule, now) {
                Ok(fire) => fires.push(fire),
                Err(error) => firing.skipped.push(format!("{}: {error}", schedule.name)),
            }
        }
        if fires.is_empty() {
            return Ok(firing);
        }
        let (won, next_tick) = cron::fired(&fires, self.run(cron::fire(&fires, now)).await?)?;
        firing.next_tick = next_tick;
        firing.fired = fires
            .iter()
            .zip(won)
            .filter(|(_, won)| *won)
            .map(|(fire, _)| fire.fired())
            .collect();
        Ok(firing)
    }
}

/// Implements [`JobStore`] and [`CronStore`] for a backend's public store
/// type by handing every call to its [`SqlStore`] field.
macro_rules! delegate_to_sql {
    ($store:ty, $field:ident, $changes:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::JobStore for $store {
            async fn enqueue_many(
                &self,
                jobs: Vec<$crate::job::NewJob>,
            ) -> $crate::StoreResult<Vec<$crate::store::Enqueued>> {
                self.$field.enqueue_many(jobs).await
            }
            async fn get(&self, id: $crate::job::JobId) -> $crate::StoreResult<$crate::job::Job> {
                self.$field.get(id).await
            }
            async fn list(
                &self,
                query: &$crate::store::ListQuery,
            ) -> $crate::StoreResult<$crate::store::JobPage> {
                self.$field.list(query).await
            }
            async fn count_by_status(&self) -> $crate::StoreResult<$crate::store::StatusCounts> {
                self.$field.count_by_status().await
            }
            async fn count_by_type(
                &self,
            ) -> $crate::StoreResult<
                std::collections::BTreeMap<String, $crate::store::StatusCounts>,
            > {
                self.$field.count_by_type().await
            }
            async fn claim(
                &self,
                request: &$crate::store::ClaimRequest,
            ) -> $crate::StoreResult<Vec<$crate::store::Claimed>> {
                self.$field.claim(request).await
            }
            async fn claim_job(
                &self,
                id: $crate::job::JobId,
                worker_id: &str,
                lease_duration: std::time::Duration,
            ) -> $crate::StoreResult<$crate::store::Claimed> {
                self.$field.claim_job(id, worker_id, lease_duration).await
            }
            async fn heartbeat(
                &self,
                lease: &$crate::store::Lease,
                extend_by: std::time::Duration,
            ) -> $crate::StoreResult<$crate::store::Heartbeat> {
                self.$field.heartbeat(lease, extend_by).await
            }
            async fn heartbeat_many(
                &self,
                leases: &[$crate::store::Lease],
                extend_by: std::time::Duration,
            ) -> $crate::StoreResult<Vec<$crate::StoreResult<$crate::store::Heartbeat>>> {
                self.$field.heartbeat_many(leases, extend_by).await
            }
            async fn cancel_requested(
                &self,
                leases: &[$crate::store::Lease],
            ) -> $crate::StoreResult<Vec<$crate::store::Lease>> {
                self.$field.cancel_requested(leases).await
            }
            async fn progress(
                &self,
                lease: &$crate::store::Lease,
                progress: &$crate::job::Progress,
            ) -> $crate::StoreResult<()> {
                self.$field.progress(lease, progress).await
            }
            async fn complete(
                &self,
                lease: &$crate::store::Lease,
                result: serde_json::Value,
            ) -> $crate::StoreResult<()> {
                self.$field.complete(lease, result).await
            }
            async fn complete_many(
                &self,
                completions: Vec<$crate::store::Completion>,
            ) -> $crate::StoreResult<Vec<$crate::StoreResult<()>>> {
                self.$field.complete_many(completions).await
            }
            async fn complete_and_claim(
                &self,
                completions: Vec<$crate::store::Completion>,
                request: &$crate::store::ClaimRequest,
            ) -> $crate::StoreResult<$crate::store::Exchange> {
                self.$field.complete_and_claim(completions, request).await
            }
            async fn poll(
                &self,
                completions: Vec<$crate::store::Completion>,
                request: Option<&$crate::store::ClaimRequest>,
            ) -> $crate::StoreResult<$crate::store::Polled> {
                self.$field.poll(completions, request).await
            }
            async fn fail(
                &self,
                lease: &$crate::store::Lease,
                failure: &$crate::store::Failure,
            ) -> $crate::StoreResult<$crate::store::FailOutcome> {
                self.$field.fail(lease, failure).await
            }
            async fn release(&self, lease: &$crate::store::Lease) -> $crate::StoreResult<()> {
                self.$field.release(lease).await
            }
            async fn mark_cancelled(
                &self,
                lease: &$crate::store::Lease,
            ) -> $crate::StoreResult<()> {
                self.$field.mark_cancelled(lease).await
            }
            async fn cancel(
                &self,
                id: $crate::job::JobId,
            ) -> $crate::StoreResult<$crate::store::CancelOutcome> {
                self.$field.cancel(id).await
            }
            async fn rescue_expired_by(
                &self,
                rescuer: &str,
            ) -> $crate::StoreResult<$crate::store::RescueSummary> {
                self.$field.rescue_expired_by(rescuer).await
            }
            async fn attempts(
                &self,
                id: $crate::job::JobId,
            ) -> $crate::StoreResult<Vec<$crate::store::AttemptRecord>> {
                self.$field.attempts(id).await
            }
            async fn rescue_expired(&self) -> $crate::StoreResult<$crate::store::RescueSummary> {
                self.$field.rescue_expired().await
            }
            async fn queue_position(
                &self,
                id: $crate::job::JobId,
            ) -> $crate::StoreResult<Option<u64>> {
                self.$field.queue_position(id).await
            }
            async fn queue_positions(
                &self,
                ids: &[$crate::job::JobId],
            ) -> $crate::StoreResult<Vec<Option<u64>>> {
                self.$field.queue_positions(ids).await
            }
            async fn retry(&self, id: $crate::job::JobId) -> $crate::StoreResult<$crate::job::Job> {
                self.$field.retry(id).await
            }
            async fn announce_worker(
                &self,
                info: &$crate::store::WorkerInfo,
            ) -> $crate::StoreResult<()> {
                self.$field.announce_worker(info).await
            }
            async fn retire_worker(&self, id: &str) -> $crate::StoreResult<()> {
                self.$field.retire_worker(id).await
            }
            async fn workers(&self) -> $crate::StoreResult<Vec<$crate::store::WorkerRecord>> {
                self.$field.workers().await
            }
            async fn activity(
                &self,
                window: &$crate::store::ActivityWindow,
            ) -> $crate::StoreResult<Vec<$crate::store::QueueActivity>> {
                self.$field.activity(window).await
            }
            async fn bulk(
                &self,
                action: $crate::store::BulkAction,
                filter: &$crate::store::JobFilter,
            ) -> $crate::StoreResult<$crate::store::BulkOutcome> {
                self.$field.bulk(action, filter).await
            }
            async fn bulk_preview(
                &self,
                action: $crate::store::BulkAction,
                filter: &$crate::store::JobFilter,
            ) -> $crate::StoreResult<$crate::store::BulkOutcome> {
                self.$field.bulk_preview(action, filter).await
            }
            async fn prune(
                &self,
                filter: &$crate::store::JobFilter,
                limit: u32,
            ) -> $crate::StoreResult<u64> {
                self.$field.prune(filter, limit).await
            }
            async fn vacuum(&self, full: bool) -> $crate::StoreResult<Option<u64>> {
                self.$field.vacuum(full).await
            }
            async fn claimable(
                &self,
                request: &$crate::store::ClaimRequest,
            ) -> $crate::StoreResult<bool> {
                self.$field.claimable(request).await
            }
            async fn queues(&self) -> $crate::StoreResult<Vec<$crate::store::QueueInfo>> {
                self.$field.queues().await
            }
            async fn set_queue_paused(
                &self,
                queue: &str,
                paused: bool,
            ) -> $crate::StoreResult<$crate::store::QueueInfo> {
                self.$field.set_queue_paused(queue, paused).await
            }
            async fn set_queue_limit(
                &self,
                queue: &str,
                limit: Option<u32>,
            ) -> $crate::StoreResult<$crate::store::QueueInfo> {
                self.$field.set_queue_limit(queue, limit).await
            }
            fn changes(&self) -> Option<$crate::store::ChangeFeed> {
                let changes: fn(&$store) -> Option<$crate::store::ChangeFeed> = $changes;
                changes(self)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::CronStore for $store {
            async fn declare_schedule(
                &self,
                schedule: &$crate::cron::NewCronSchedule,
            ) -> $crate::StoreResult<$crate::cron::CronSchedule> {
                self.$field.declare_schedule(schedule).await
            }
            async fn get_schedule(
                &self,
                name: &str,
            ) -> $crate::StoreResult<$crate::cron::CronSchedule> {
                self.$field.get_schedule(name).await
            }
            async fn list_schedules(&self) -> $crate::StoreResult<Vec<$crate::cron::CronSchedule>> {
                self.$field.list_schedules().await
            }
            async fn set_schedule_enabled(
                &self,
                name: &str,
                enabled: bool,
            ) -> $crate::StoreResult<$crate::cron::CronSchedule> {
                self.$field.set_schedule_enabled(name, enabled).await
            }
            async fn delete_schedule(&self, name: &str) -> $crate::StoreResult<()> {
                self.$field.delete_schedule(name).await
            }
            async fn fire_due_schedules(&self) -> $crate::StoreResult<$crate::cron::CronFiring> {
                self.$field.fire_due_schedules().await
            }
        }
    };
}

pub(crate) use delegate_to_sql;
