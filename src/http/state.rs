//! What every request handler shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use super::HttpConfig;
use crate::cron::NewCronSchedule;
use crate::error::StoreError;
use crate::job::NewJob;
use crate::metrics::JobGauges;
use crate::store::JobStore;
use crate::worker::{ProgramAllowlist, Registry, Worker};

/// The store the API serves, its settings, and what it reports on.
///
/// ```
/// use std::sync::Arc;
/// use jobstore::http::{HttpConfig, HttpState};
/// use jobstore::metrics::MeteredStore;
/// use jobstore::{JobStore, MemoryStore};
///
/// // Share the metered store with your workers too, so /metrics counts
/// // what they do.
/// let store: Arc<dyn JobStore> = Arc::new(MeteredStore::new(Arc::new(MemoryStore::new())));
/// let state = HttpState::new(store).config(HttpConfig::default().token("s3cret"));
/// let app: axum::Router = jobstore::http::router(state);
/// ```
#[derive(Clone)]
pub struct HttpState {
    store: Arc<dyn JobStore>,
    config: Arc<HttpConfig>,
    prometheus: Option<PrometheusHandle>,
    gauges: Arc<JobGauges>,
    worker: Option<Worker>,
    shutdown: CancellationToken,
    /// What new jobs and schedules are checked against, if anything.
    checks: Option<(Arc<Registry>, ProgramAllowlist)>,
}

impl std::fmt::Debug for HttpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState")
            .field("config", &self.config)
            .field("metrics", &self.prometheus.is_some())
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl HttpState {
    /// Serves `store` with the default settings, no `/metrics` and no
    /// worker health.
    pub fn new(store: Arc<dyn JobStore>) -> Self {
        HttpState {
            store,
            config: Arc::new(HttpConfig::default()),
            prometheus: None,
            gauges: Arc::new(JobGauges::new()),
            worker: None,
            shutdown: CancellationToken::new(),
            checks: None,
        }
    }

    /// Uses these settings.
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// Serves `/metrics` from this recorder (see
    /// [`install_prometheus`](crate::metrics::install_prometheus)); without
    /// one, `/metrics` answers 404.
    pub fn prometheus(mut self, handle: PrometheusHandle) -> Self {
        self.prometheus = Some(handle);
        self
    }

    /// Includes this worker's health in `/healthz`, checks the jobs and
    /// schedules it is given against the worker's registry (as
    /// [`HttpState::check_jobs`] does; [`HttpState::accept_any_type`]
    /// undoes it), and wakes the worker when a job is enqueued.
    pub fn worker(mut self, worker: Worker) -> Self {
        self.checks = Some((
            Arc::clone(worker.registry()),
            worker.config().exec_allow.clone(),
        ));
        self.worker = Some(worker);
        self
    }

    /// Refuses with 400, before anything is stored, a `POST /jobs` or
    /// `PUT /cron/{name}` whose job type `registry` does not know, whose
    /// params do not fit the type, or which the type refuses (see
    /// [`Registry::check`]; `allowed` is the programs workers let jobs
    /// start).
    pub fn check_jobs(mut self, registry: Arc<Registry>, allowed: ProgramAllowlist) -> Self {
        self.checks = Some((registry, allowed));
        self
    }

    /// Accepts jobs and schedules of any type (for types only other
    /// workers know).
    pub fn accept_any_type(mut self) -> Self {
        self.checks = None;
        self
    }

    /// Ends open event streams when `token` is cancelled, so a graceful
    /// shutdown does not wait for the jobs they follow to finish.
    pub fn shutdown_token(mut self, token: CancellationToken) -> Self {
        self.shutdown = token;
        self
    }

    /// The store served.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &HttpConfig {
        &self.config
    }

    pub(crate) fn prometheus_handle(&self) -> Option<&PrometheusHandle> {
        self.prometheus.as_ref()
    }

    pub(crate) fn gauges(&self) -> &JobGauges {
        &self.gauges
    }

    /// Checks a job to be enqueued, when this state checks jobs.
    pub(crate) fn check_job(&self, job: &mut NewJob) -> Result<(), StoreError> {
        match &self.checks {
            Some((registry, allowed)) => registry.check(job, allowed),
            None => Ok(()),
        }
    }

    /// Checks a schedule to be declared, when this state checks jobs.
    pub(crate) fn check_schedule(&self, schedule: &NewCronSchedule) -> Result<(), StoreError> {
        match &self.checks {
            Some((registry, allowed)) => registry.check_schedule(schedule, allowed),
            None => Ok(()),
        }
    }

    pub(crate) fn worker_ref(&self) -> Option<&Worker> {
        self.worker.as_ref()
    }

    pub(crate) fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }
}
