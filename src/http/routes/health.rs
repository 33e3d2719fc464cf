//! `GET /healthz`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::http::types::HealthResponse;
use crate::http::HttpState;

/// Liveness: 200 when the store answers and the in-process worker, if
/// any, is going round or still starting; 503 otherwise. (Readiness is
/// `jobstore serve`'s address line: it is printed once the worker has gone
/// round.)
pub(crate) async fn check(State(state): State<HttpState>) -> (StatusCode, Json<HealthResponse>) {
    let store = state.store().count_by_status().await;
    let mut message = store.as_ref().err().map(|e| format!("store: {e}"));
    let worker_ok = match state.worker_ref() {
        Some(worker) => {
            let health = worker.health().await;
            if message.is_none() {
                message = health.message.clone();
            }
            Some(health.loop_alive || health.starting)
        }
        None => None,
    };
    let healthy = store.is_ok() && worker_ok != Some(false);
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = HealthResponse {
        status: if healthy { "ok" } else { "unavailable" }.into(),
        store_ok: store.is_ok(),
        worker_ok,
        message,
    };
    (status, Json(body))
}
