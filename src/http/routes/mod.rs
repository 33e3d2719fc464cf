//! The endpoints, one file per concern, and the router that joins them.

mod bulk;
pub(crate) mod changes;
mod control;
mod cron;
pub(crate) mod dashboard;
pub(crate) mod events;
mod health;
mod jobs;
mod metrics;
mod queues;
mod stats;
mod view;
mod workers;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use super::auth;
use super::error::ApiError;
use super::types::ErrorCode;
use super::HttpState;

/// The API and dashboard, ready to serve or to mount under a path of your
/// own service.
///
/// ```
/// # use std::sync::Arc;
/// # use jobstore::{JobStore, MemoryStore};
/// # let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new());
/// let jobs = jobstore::http::router(jobstore::http::HttpState::new(store));
/// let app: axum::Router = axum::Router::new().nest("/jobs-admin", jobs);
/// ```
///
/// Nested, the dashboard is at `/jobs-admin` and the API under it
/// (`/jobs-admin/jobs/{id}`, ...).
pub fn router(state: HttpState) -> Router {
    let body_limit = state.settings().body_limit;
    Router::new()
        .route("/", get(dashboard::index))
        .route("/assets/{name}", get(dashboard::asset))
        .route("/login", post(auth::login))
        .route("/jobs", post(jobs::enqueue).get(jobs::list))
        .route("/jobs/bulk", post(bulk::apply))
        .route("/jobs/{id}", get(jobs::show).delete(control::delete))
        .route("/jobs/{id}/cancel", post(control::cancel))
        .route("/jobs/{id}/retry", post(control::retry))
        .route("/jobs/{id}/attempts", get(jobs::attempts))
        .route("/jobs/{id}/events", get(events::stream))
        .route("/queues", get(queues::list))
        .route("/queues/{name}", get(queues::show))
        .route("/queues/{name}/pause", post(queues::pause))
        .route("/queues/{name}/resume", post(queues::resume))
        .route("/queues/{name}/limit", axum::routing::put(queues::limit))
        .route("/cron", get(cron::list))
        .route(
            "/cron/{name}",
            get(cron::show).put(cron::declare).delete(cron::delete),
        )
        .route("/cron/{name}/enable", post(cron::enable))
        .route("/cron/{name}/disable", post(cron::disable))
        .route("/workers", get(workers::list))
        .route("/stats", get(stats::show))
        .route("/stats/activity", get(stats::activity))
        .route("/events", get(changes::stream))
        .route("/healthz", get(health::check))
        .route("/metrics", get(metrics::render))
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(dashboard::pages))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn no_such_endpoint() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}
