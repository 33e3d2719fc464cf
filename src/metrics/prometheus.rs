//! The process-wide Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{RUN_SECONDS, RUN_SECONDS_BUCKETS};

/// The recorder could not be installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot install the Prometheus metrics recorder: {0}")]
pub struct MetricsError(String);

/// The outcome of the first installation, shared by every later call.
static INSTALLED: OnceLock<Result<PrometheusHandle, MetricsError>> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global `metrics`
/// recorder, once; later calls hand back the same handle.
///
/// A process has one global recorder: when another one was installed
/// first (a host service's own), this fails, the counts go to that
/// recorder, and `/metrics` is not served by jobstore. Nothing here runs
/// the recorder's upkeep: [`crate::http::serve`] does it, and a service that
/// mounts [`crate::http::router`] itself gets it by being scraped (each
/// render drains the histograms) or by calling
/// [`PrometheusHandle::run_upkeep`] now and then.
pub fn install_prometheus() -> Result<PrometheusHandle, MetricsError> {
    INSTALLED
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(RUN_SECONDS.into()), RUN_SECONDS_BUCKETS)
                .map_err(|e| MetricsError(e.to_string()))?
                .install_recorder()
                .map_err(|e| MetricsError(e.to_string()))?;
            super::describe();
            Ok(handle)
        })
        .clone()
}
