//! `GET /healthz`: the one endpoint that needs no token. Without one (when
//! a token is configured) it says only up or down; with a valid token of
//! either kind, or when none is configured, it says what is wrong too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::error::StoreError;
use crate::http::auth::Role;
use crate::http::types::HealthResponse;
use crate::http::HttpState;
use crate::job::JobId;

/// All that a request without a token learns: `{"status": "ok"}` or
/// `{"status": "unavailable"}`.
#[derive(Serialize)]
struct UpOrDown {
    status: &'static str,
}

/// Liveness: 200 when the store answers and the in-process worker, if
/// any, is going round or still starting; 503 otherwise. (Readiness is
/// `jobstore serve`'s address line: it is printed once the worker has gone
/// round.) The body is a [`HealthResponse`] for a request with a role, and
/// only its `status` for one the middleware let through without a token
/// (no [`Role`]): no store error or worker detail for anyone who asks.
pub(crate) async fn check(
    State(state): State<HttpState>,
    role: Option<Extension<Role>>,
) -> Response {
    // One lookup on the primary key (of an id no job has): it tells that
    // the store answers, and costs the same on a table of any size, so an
    // unauthenticated probe cannot make the server scan anything.
    let store = match state.store().get(JobId::from(uuid::Uuid::nil())).await {
        Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    };
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
    let (status, word) = if healthy {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    if role.is_none() {
        return (status, Json(UpOrDown { status: word })).into_response();
    }
    let body = HealthResponse {
        status: word.into(),
        store_ok: store.is_ok(),
        worker_ok,
        message,
    };
    (status, Json(body)).into_response()
}
