//! Serving the router on a socket until shutdown.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{router, HttpState};

/// How often the Prometheus recorder's upkeep runs (draining histograms).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Serves the API and dashboard on `listener` until `shutdown` is
/// cancelled; then stops accepting connections, ends open event streams,
/// and returns once in-flight requests are answered.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let state = state.shutdown_token(shutdown.clone());
    if let Some(handle) = state.prometheus_handle().cloned() {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = ticks.tick() => handle.run_upkeep(),
                    _ = stop.cancelled() => break,
                }
            }
        });
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
