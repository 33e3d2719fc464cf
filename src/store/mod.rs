//! The [`JobStore`] contract and its backends.
//!
//! Every backend implements the same trait with the same semantics; one
//! contract test suite runs unchanged against each of them.

pub(crate) mod activity;
mod attempts;
mod bulk;
mod changes;
mod claim;
mod completion;
mod config;
mod cron;
mod exchange;
mod filter;
#[cfg(feature = "libsql")]
pub mod libsql;
mod list;
mod local_file;
mod location;
pub mod memory;
mod outcome;
mod queue;
pub(crate) mod rules;
pub(crate) mod sql;
pub mod sqlite;
mod workers;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, NewJob, Progress};

pub use activity::{ActivityBucket, ActivityWindow, QueueActivity};
pub use attempts::{AttemptEnd, AttemptRecord};
pub use bulk::{BulkAction, BulkOutcome};
#[cfg(feature = "http")]
pub(crate) use changes::changed_or_after;
pub use changes::{ChangeFeed, Changes};
pub use claim::{ClaimRequest, Claimed, Heartbeat, Lease};
pub(crate) use completion::aborts_group;
pub use completion::Completion;
pub use config::{
    ParseStoreUrlError, StoreConfig, BACKEND_VAR, DB_PATH_VAR, DEFAULT_DB_PATH, TURSO_TOKEN_VAR,
    TURSO_URL_VAR,
};
pub use cron::CronStore;
pub use exchange::{Chores, Exchange, Polled};
pub use filter::JobFilter;
pub use list::{JobPage, ListQuery, StatusCounts};
pub use location::LibsqlLocation;
pub use outcome::{CancelOutcome, FailOutcome, Failure, FailureKind, RescueSummary};
pub use queue::{Enqueued, QueueClaim, QueueInfo};
pub use workers::{WorkerInfo, WorkerRecord};

/// Durable storage of jobs, shared by every producer and worker.
///
/// Every store also keeps cron schedules ([`CronStore`]).
///
/// Every state change is one guarded write: it names the state it expects
/// (and, for a worker, the attempt it holds), so a lost race changes nothing
/// and is reported as an error, never half-applied.
#[async_trait]
pub trait JobStore: CronStore + Send + Sync {
    /// Creates many jobs in one transaction: all of them, or none when any
    /// is refused. A job with a unique key whose holder is still inside
    /// its scope is not created: its answer is the holder, marked
    /// [`Enqueued::existing`]. Within one call, the first job with a key
    /// takes it and later ones with that key answer with the first.
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Enqueued>>;

    /// Creates one job, or finds the one holding its unique key (see
    /// [`JobStore::enqueue_many`]).
    async fn enqueue(&self, job: NewJob) -> StoreResult<Enqueued> {
        let mut enqueued = self.enqueue_many(vec![job]).await?;
        enqueued
            .pop()
            .ok_or_else(|| StoreError::database("an enqueue went unanswered"))
    }

    /// Creates one job: [`JobStore::enqueue`] without saying whether the job
    /// was already there.
    async fn create(&self, job: NewJob) -> StoreResult<Job> {
        self.enqueue(job).await.map(|enqueued| enqueued.job)
    }

    /// Creates many jobs in one transaction: [`JobStore::enqueue_many`]
    /// without saying which were already there.
    async fn create_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Job>> {
        Ok(self
            .enqueue_many(jobs)
            .await?
            .into_iter()
            .map(|enqueued| enqueued.job)
            .collect())
    }

    /// The job with this id.
    async fn get(&self, id: JobId) -> StoreResult<Job>;

    /// Jobs matching the query, newest first, one page at a time.
    async fn list(&self, query: &ListQuery) -> StoreResult<JobPage>;

    /// How many jobs are in each status.
    async fn count_by_status(&self) -> StoreResult<StatusCounts>;

    /// How many jobs of each type are in each status (exact: every job is
    /// counted).
    async fn count_by_type(&self) -> StoreResult<BTreeMap<String, StatusCounts>>;

    /// Atomically moves claimable jobs (pending, with `run_at` not in the
    /// future) to running for one worker, up to each requested queue's
    /// limit, in claim order (priority, then `run_at`, then id), and hands
    /// back their leases. A paused queue gives none; a queue with a
    /// concurrency limit gives only as many as keep it within the limit.
    /// No job is ever handed to two claimers.
    async fn claim(&self, request: &ClaimRequest) -> StoreResult<Vec<Claimed>>;

    /// Atomically moves one specific pending job to running for
    /// `worker_id`, whatever its place in the queue and even before its
    /// `run_at`: how a job is run inline the moment it is created. A job
    /// that is not pending (already claimed, finished) is refused with
    /// [`StoreError::InvalidTransition`].
    async fn claim_job(
        &self,
        id: JobId,
        worker_id: &str,
        lease_duration: Duration,
    ) -> StoreResult<Claimed>;

    /// Extends a lease by `extend_by` from now, and tells the worker whether
    /// cancellation was requested.
    async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> StoreResult<Heartbeat>;

    /// Extends many leases at once (a worker's heartbeat of every job it
    /// runs): each one's outcome, in order, as [`JobStore::heartbeat`]
    /// would give it. The SQL backends send one statement for all of them.
    async fn heartbeat_many(
        &self,
        leases: &[Lease],
        extend_by: Duration,
    ) -> StoreResult<Vec<StoreResult<Heartbeat>>> {
        let mut beats = Vec::with_capacity(leases.len());
        for lease in leases {
            beats.push(self.heartbeat(lease, extend_by).await);
        }
        Ok(beats)
    }

    /// Which of `leases` still hold a job whose cancellation was requested
    /// (each once, in the order given): a read that extends nothing, for a
    /// worker to notice a cancel sooner than its next heartbeat.
    async fn cancel_requested(&self, leases: &[Lease]) -> StoreResult<Vec<Lease>> {
        let mut requested = Vec::new();
        for lease in leases {
            if requested.contains(lease) {
                continue;
            }
            let job = match self.get(lease.job_id).await {
                Ok(job) => job,
                Err(StoreError::NotFound(_)) => continue,
                Err(error) => return Err(error),
            };
            if job.cancel_requested && rules::holds_lease(lease.attempt, job.status, job.attempt) {
                requested.push(*lease);
            }
        }
        Ok(requested)
    }

    /// Records the stage and percent a running job reports.
    async fn progress(&self, lease: &Lease, progress: &Progress) -> StoreResult<()>;

    /// Finishes a running job with its result.
    async fn complete(&self, lease: &Lease, result: serde_json::Value) -> StoreResult<()>;

    /// Finishes many running jobs in one transaction (a worker's group
    /// commit). Each completion is guarded by its own lease exactly as in
    /// [`JobStore::complete`], and the answer holds each one's outcome in
    /// order: a refused completion (its lease was lost, its job is gone)
    /// changes nothing and does not stop the others. A database error
    /// aborts the transaction: nothing is written and the error is returned.
    async fn complete_many(
        &self,
        completions: Vec<Completion>,
    ) -> StoreResult<Vec<StoreResult<()>>>;

    /// Writes `completions` as [`JobStore::complete_many`] does, then
    /// claims as [`JobStore::claim`] does for `request`, in one transaction:
    /// a worker hands back the jobs it finished and takes the next ones for
    /// the price of one commit. A refused completion does not stop the
    /// others or the claim; a database error aborts the transaction (nothing
    /// is completed or claimed) and is returned, as is an invalid `request`,
    /// before anything is written.
    async fn complete_and_claim(
        &self,
        completions: Vec<Completion>,
        request: &ClaimRequest,
    ) -> StoreResult<Exchange>;

    /// A worker's poll: writes `completions` and claims for `request` (if
    /// any) as [`JobStore::complete_and_claim`] does, and reads in the same
    /// round trip whether leases have expired and when the next cron tick
    /// is due, so that a worker learns everything it polls for with one
    /// request to a server. The default asks the other methods and reports
    /// both chores as worth doing ([`Chores::unknown`]).
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
        Ok(Polled {
            exchange,
            chores: Chores::unknown(),
        })
    }

    /// Records a failed attempt: a transient failure goes back to pending
    /// while attempts remain, a permanent one fails the job at once, and a
    /// job whose cancellation was requested ends cancelled.
    async fn fail(&self, lease: &Lease, failure: &Failure) -> StoreResult<FailOutcome>;

    /// Puts a running job back to pending without spending an attempt
    /// (graceful shutdown).
    async fn release(&self, lease: &Lease) -> StoreResult<()>;

    /// Ends a running job as cancelled, once its worker has stopped it.
    async fn mark_cancelled(&self, lease: &Lease) -> StoreResult<()>;

    /// Cancels a job: a pending one at once, a running one by asking its
    /// worker to stop it. A finished job is left as it is.
    async fn cancel(&self, id: JobId) -> StoreResult<CancelOutcome>;

    /// Returns running jobs whose lease has expired to pending while
    /// attempts remain, and fails (or, when cancellation was requested,
    /// cancels) the others.
    async fn rescue_expired(&self) -> StoreResult<RescueSummary>;

    /// [`JobStore::rescue_expired`], recording `rescuer` (a worker id) as
    /// who ended each lost attempt. The default records no one.
    async fn rescue_expired_by(&self, rescuer: &str) -> StoreResult<RescueSummary> {
        let _ = rescuer;
        self.rescue_expired().await
    }

    /// Every attempt of a job, first to last: those that did not complete
    /// it (retried, failed, cancelled, lost, released; each with its full
    /// error and worker), then the one running now or the one that
    /// completed it. A job never claimed has none.
    async fn attempts(&self, id: JobId) -> StoreResult<Vec<AttemptRecord>> {
        let job = self.get(id).await?;
        Ok(attempts::with_current(&job, Vec::new(), None))
    }

    /// How many jobs will start before a pending job: those of its queue
    /// that are due and ahead of it in claim order (priority, `run_at`,
    /// id). `None` when the job is not pending or not yet due (a scheduled
    /// job has no place in line until its `run_at`).
    async fn queue_position(&self, id: JobId) -> StoreResult<Option<u64>>;

    /// The queue positions of many jobs at once, in order, as
    /// [`JobStore::queue_position`] gives each, except that a job that no
    /// longer exists has none rather than being an error. The SQL backends
    /// read them in one statement.
    async fn queue_positions(&self, ids: &[JobId]) -> StoreResult<Vec<Option<u64>>> {
        let mut positions = Vec::with_capacity(ids.len());
        for id in ids {
            positions.push(match self.queue_position(*id).await {
                Err(StoreError::NotFound(_)) => None,
                other => other?,
            });
        }
        Ok(positions)
    }

    /// Creates a new job with the type, params and settings of a failed or
    /// cancelled one, recording which job it retries.
    async fn retry(&self, id: JobId) -> StoreResult<Job>;

    /// Applies `action` to every job `filter` matches, in one transaction
    /// with one statement per change (never a loop of single calls): each
    /// job is changed entirely or not at all, and jobs the action does not
    /// apply to are counted as skipped (see [`BulkAction`]). An empty
    /// filter is refused: to act on every job, name the statuses.
    async fn bulk(&self, action: BulkAction, filter: &JobFilter) -> StoreResult<BulkOutcome>;

    /// What [`JobStore::bulk`] would do now, changing nothing (a dry run).
    async fn bulk_preview(
        &self,
        action: BulkAction,
        filter: &JobFilter,
    ) -> StoreResult<BulkOutcome>;

    /// Deletes up to `limit` finished jobs (completed, failed or cancelled)
    /// that `filter` matches, oldest first, and says how many it deleted:
    /// one small batch of a retention sweep, which repeats until fewer
    /// than `limit` are deleted. `filter` must set
    /// [`JobFilter::finished_before`]; a pending or running job is never
    /// pruned. A local file's freed pages are returned to the file system
    /// when it was created by this release or vacuumed since (see
    /// [`JobStore::vacuum`]).
    async fn prune(&self, filter: &JobFilter, limit: u32) -> StoreResult<u64>;

    /// Gives a local database file's free pages back to the file system:
    /// the ones free after a prune (`full` false: cheap, and only on a file
    /// set up for it), or by rewriting the whole file (`full` true:
    /// `VACUUM`, which also sets up an older file for the cheap way, and
    /// needs as much free disk as the file takes). Answers the file's size
    /// in bytes afterwards, or `None` where there is no file (memory, a
    /// server).
    async fn vacuum(&self, full: bool) -> StoreResult<Option<u64>> {
        let _ = full;
        Ok(None)
    }

    /// What happened in each queue during each span of `window`: jobs
    /// completed, failed for good and started, how many were waiting, and
    /// how long the started ones had waited (median and 95th percentile),
    /// all read from the jobs on record, so every process sees the same
    /// and a restart loses nothing (pruned jobs are gone from it). Queues
    /// with nothing in the window are left out.
    async fn activity(&self, window: &ActivityWindow) -> StoreResult<Vec<QueueActivity>>;

    /// Records that a worker is alive (at its start and at every
    /// heartbeat), with what it says about itself. A worker that announces
    /// itself after it stopped or was gone starts anew.
    async fn announce_worker(&self, info: &WorkerInfo) -> StoreResult<()>;

    /// Records that a worker stopped (on a graceful shutdown).
    async fn retire_worker(&self, id: &str) -> StoreResult<()>;

    /// Every worker seen in the last day, newest first: alive ones (seen
    /// within their lease) and gone ones, each with the jobs it holds.
    async fn workers(&self) -> StoreResult<Vec<WorkerRecord>>;

    /// Whether a claim for `request` would find a job now: a read, which
    /// takes no write lock (an idle worker woken by a change asks this
    /// before it claims). The default says yes, so the caller claims.
    async fn claimable(&self, request: &ClaimRequest) -> StoreResult<bool> {
        let _ = request;
        Ok(true)
    }

    /// Every queue that holds a job or has settings, by name, with its
    /// settings and counts.
    async fn queues(&self) -> StoreResult<Vec<QueueInfo>>;

    /// Pauses (`true`) or resumes (`false`) a queue: no worker claims from
    /// a paused queue until it is resumed; its running jobs finish. The
    /// setting is stored, so every worker obeys it at its next claim.
    async fn set_queue_paused(&self, queue: &str, paused: bool) -> StoreResult<QueueInfo>;

    /// Limits how many jobs of a queue may run at once across all workers
    /// (`None` lifts the limit). Every claim counts the queue's running
    /// jobs in the statement that claims, so the limit is exact.
    async fn set_queue_limit(&self, queue: &str, limit: Option<u32>) -> StoreResult<QueueInfo>;

    /// The store's change feed, when it has one: a local file's (every
    /// commit of any process) or the in-memory store's. A libSQL server
    /// pushes nothing: `None`, and waiters poll.
    fn changes(&self) -> Option<ChangeFeed> {
        None
    }
}
