//! A worker's announcements of itself, for `jobstore workers`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::WorkerConfig;
use crate::store::{JobStore, WorkerInfo};

/// What `config`'s worker says about itself.
pub(super) fn info(config: &WorkerConfig) -> WorkerInfo {
    WorkerInfo {
        id: config.worker_id.clone(),
        host: nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok())
            .unwrap_or_else(|| "unknown".to_string()),
        pid: std::process::id(),
        queues: config.queue_slots().into_iter().collect(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        lease: config.lease_duration,
    }
}

/// Announces the worker now and at every heartbeat interval until `stop`
/// is cancelled, then records that it stopped. A failed announcement is
/// logged and tried again at the next interval: it never stops the worker.
pub(super) async fn keep(
    store: Arc<dyn JobStore>,
    config: Arc<WorkerConfig>,
    stop: CancellationToken,
) {
    let info = info(&config);
    loop {
        if let Err(error) = store.announce_worker(&info).await {
            tracing::warn!(%error, "cannot announce this worker; will try again");
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(config.heartbeat_interval) => {}
        }
    }
}

/// Records that the worker stopped.
pub(super) async fn retire(store: &dyn JobStore, config: &WorkerConfig) {
    if let Err(error) = store.retire_worker(&config.worker_id).await {
        tracing::warn!(%error, "cannot record that this worker stopped");
    }
}
