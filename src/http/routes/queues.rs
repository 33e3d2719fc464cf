//! `/queues`: every queue's counts and settings; pause, resume, limit.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, QueueNamePath};
use crate::http::HttpState;
use crate::store::QueueInfo;

/// Every queue with jobs waiting or running, or with settings.
pub(crate) async fn list(State(state): State<HttpState>) -> Result<Json<Vec<QueueInfo>>, ApiError> {
    Ok(Json(state.store().queues().await?))
}

/// One queue (a queue nobody used reads as empty, not paused, unlimited).
pub(crate) async fn show(
    State(state): State<HttpState>,
    QueueNamePath(name): QueueNamePath,
) -> Result<Json<QueueInfo>, ApiError> {
    crate::job::validate_queue_name(&name)?;
    let queue = state
        .store()
        .queues()
        .await?
        .into_iter()
        .find(|q| q.name == name)
        .unwrap_or(QueueInfo {
            name,
            ..QueueInfo::default()
        });
    Ok(Json(queue))
}

/// Pauses a queue: no worker starts its jobs; running ones finish.
pub(crate) async fn pause(
    State(state): State<HttpState>,
    QueueNamePath(name): QueueNamePath,
) -> Result<Json<QueueInfo>, ApiError> {
    Ok(Json(state.store().set_queue_paused(&name, true).await?))
}

/// Resumes a paused queue.
pub(crate) async fn resume(
    State(state): State<HttpState>,
    QueueNamePath(name): QueueNamePath,
) -> Result<Json<QueueInfo>, ApiError> {
    Ok(Json(state.store().set_queue_paused(&name, false).await?))
}

/// The body of `PUT /queues/{name}/limit`: `{"concurrency_limit": 3}`, or
/// `null` to lift the limit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitRequest {
    concurrency_limit: Option<u32>,
}

/// Sets or lifts a queue's global concurrency limit.
pub(crate) async fn limit(
    State(state): State<HttpState>,
    QueueNamePath(name): QueueNamePath,
    JsonBody(request): JsonBody<LimitRequest>,
) -> Result<Json<QueueInfo>, ApiError> {
    Ok(Json(
        state
            .store()
            .set_queue_limit(&name, request.concurrency_limit)
            .await?,
    ))
}
