//! Producing jobs from typed code: enqueue them for a worker (`later`), run
//! one inline and wait for its output (`now`), or run a list inline with
//! bounded concurrency (`batch`).

mod batch;
mod run;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::job::{JobId, NewJob};
use crate::store::{Enqueued, JobStore};
use crate::worker::attempt::keeper::LeaseKeeper;
use crate::worker::{JobType, Registry, WorkerConfig, WorkerError};

pub use batch::{BatchOptions, BatchRun};
pub use run::{JobRun, RunOptions};

/// Enqueues typed jobs and runs them inline.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use jobstore::client::Client;
/// use jobstore::worker::{JobContext, JobError, JobType};
/// use jobstore::{JobStore, MemoryStore};
///
/// struct Double;
///
/// #[async_trait]
/// impl JobType for Double {
///     const NAME: &'static str = "double";
///     type Params = u64;
///     type Output = u64;
///     async fn run(&self, n: u64, _ctx: &JobContext) -> Result<u64, JobError> {
///         Ok(n * 2)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), jobstore::worker::WorkerError> {
/// let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new());
/// let client = Client::new(Arc::clone(&store));
///
/// // For a worker to run later:
/// let id = client.later::<Double>(&21).await?;
/// assert_eq!(store.get(id).await?.params, serde_json::json!(21));
///
/// // Inline, recorded as a job, with the typed output:
/// let run = client.now(&Double, 21).await?;
/// assert_eq!(run.result, Ok(42));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    store: Arc<dyn JobStore>,
    config: Arc<WorkerConfig>,
    /// Keeps the leases of the inline runs.
    keeper: LeaseKeeper,
    wake: Option<Arc<Notify>>,
    /// The job types it checks jobs against before storing them, if known.
    registry: Option<Arc<Registry>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("worker_id", &self.config.worker_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of `store`; inline runs use the default worker timings
    /// (lease, heartbeat, kill grace, backoff).
    pub fn new(store: Arc<dyn JobStore>) -> Self {
        let config = WorkerConfig {
            worker_id: format!("inline-{}", WorkerConfig::default().worker_id),
            ..WorkerConfig::default()
        };
        Client {
            keeper: keeper_for(&store, &config),
            store,
            config: Arc::new(config),
            wake: None,
            registry: None,
        }
    }

    /// A client whose inline runs use `config`'s timings and worker id.
    pub fn with_config(
        store: Arc<dyn JobStore>,
        config: WorkerConfig,
    ) -> Result<Self, WorkerError> {
        config.validate()?;
        Ok(Client {
            keeper: keeper_for(&store, &config),
            store,
            config: Arc::new(config),
            wake: None,
            registry: None,
        })
    }

    /// Checks every job against `registry` before storing it: an unknown
    /// job type, params that do not deserialize into the type's params, or
    /// params the type refuses ([`JobType::check`], with this client's
    /// [`WorkerConfig::exec_allow`]) are refused with
    /// [`StoreError::InvalidInput`](crate::StoreError::InvalidInput)
    /// naming the type and the field, and nothing is stored. A job that
    /// names no queue goes to its type's ([`JobType::QUEUE`]).
    ///
    /// A worker's own client ([`Worker::client`](crate::worker::Worker::client))
    /// checks against the worker's registry already.
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// A client that wakes a worker of this process whenever it enqueues.
    pub(crate) fn waking(
        store: Arc<dyn JobStore>,
        config: Arc<WorkerConfig>,
        keeper: LeaseKeeper,
        wake: Arc<Notify>,
        registry: Arc<Registry>,
    ) -> Self {
        Client {
            store,
            config,
            keeper,
            wake: Some(wake),
            registry: Some(registry),
        }
    }

    /// `job` checked against the registry, if this client knows one.
    fn checked(&self, mut job: NewJob) -> Result<NewJob, WorkerError> {
        if let Some(registry) = &self.registry {
            registry.check(&mut job, &self.config.exec_allow)?;
        }
        Ok(job)
    }

    /// The store this client writes to.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// Enqueues a job of type `J` for a worker; returns its id.
    pub async fn later<J: JobType>(&self, params: &J::Params) -> Result<JobId, WorkerError> {
        Ok(self.enqueue(J::job(params)?).await?.job.id)
    }

    /// Enqueues a job of type `J` that no worker claims before `at`.
    pub async fn later_at<J: JobType>(
        &self,
        params: &J::Params,
        at: DateTime<Utc>,
    ) -> Result<JobId, WorkerError> {
        Ok(self.enqueue(J::job(params)?.run_at(at)).await?.job.id)
    }

    /// Enqueues a job of type `J` that no worker claims until `delay` has
    /// passed.
    pub async fn later_after<J: JobType>(
        &self,
        params: &J::Params,
        delay: Duration,
    ) -> Result<JobId, WorkerError> {
        Ok(self.enqueue(J::job(params)?.delay(delay)).await?.job.id)
    }

    /// Enqueues one job of type `J` per params, all in one transaction:
    /// every one of them, or none when any is refused.
    pub async fn later_many<J: JobType>(
        &self,
        params: &[J::Params],
    ) -> Result<Vec<JobId>, WorkerError> {
        let jobs = params
            .iter()
            .map(|params| self.checked(J::job(params)?))
            .collect::<Result<Vec<_>, _>>()?;
        let created = self.store.create_many(jobs).await?;
        self.wake_worker();
        Ok(created.into_iter().map(|job| job.id).collect())
    }

    /// Enqueues a job built by hand (any type, any settings); says whether
    /// the job was already there (its unique key held by another, see
    /// [`NewJob::unique_key`]), in which case nothing was created.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, WorkerError> {
        let enqueued = self.store.enqueue(self.checked(job)?).await?;
        if !enqueued.existing {
            self.wake_worker();
        }
        Ok(enqueued)
    }

    /// Enqueues many jobs in one transaction (every one, or none when any
    /// is refused), checked as [`Client::enqueue`] checks one.
    pub async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>, WorkerError> {
        let jobs = jobs
            .into_iter()
            .map(|job| self.checked(job))
            .collect::<Result<Vec<_>, _>>()?;
        let enqueued = self.store.enqueue_many(jobs).await?;
        if enqueued.iter().any(|e| !e.existing) {
            self.wake_worker();
        }
        Ok(enqueued)
    }

    fn wake_worker(&self) {
        if let Some(wake) = &self.wake {
            wake.notify_one();
        }
    }
}

/// The lease keeper of a client's inline runs, with `config`'s timings.
fn keeper_for(store: &Arc<dyn JobStore>, config: &WorkerConfig) -> LeaseKeeper {
    LeaseKeeper::new(
        Arc::clone(store),
        config.heartbeat_interval,
        config.lease_duration,
    )
}
