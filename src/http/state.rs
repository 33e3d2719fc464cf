//! What every request handler shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use super::HttpConfig;
use crate::metrics::JobGauges;
use crate::store::JobStore;
use crate::worker::Worker;

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

    /// Includes this worker's health in `/healthz`.
    pub fn worker(mut self, worker: Worker) -> Self {
        self.worker = Some(worker);
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

    pub(crate) fn worker_ref(&self) -> Option<&Worker> {
        self.worker.as_ref()
    }

    pub(crate) fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }
}
