//! `GET /stats` and `GET /stats/activity`.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::job_stats::job_stats;
use crate::http::types::{ActivityResponse, ErrorCode, StatsResponse};
use crate::http::HttpState;
use crate::store::ActivityWindow;

/// Counts of jobs by status and by type.
pub(crate) async fn show(State(state): State<HttpState>) -> Result<Json<StatsResponse>, ApiError> {
    let stats = job_stats(state.store().as_ref()).await?;
    Ok(Json(stats))
}

/// The query of `GET /stats/activity`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivityParams {
    range: Option<String>,
}

/// Each queue's activity over the last hour by minute, or the last day by
/// hour.
pub(crate) async fn activity(
    State(state): State<HttpState>,
    params: Result<Query<ActivityParams>, QueryRejection>,
) -> Result<Json<ActivityResponse>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let range = params.range.filter(|r| !r.is_empty());
    let (range, bucket, buckets) = match range.as_deref() {
        None | Some("hour") => ("hour", Duration::from_secs(60), 60),
        Some("day") => ("day", Duration::from_secs(3600), 24),
        Some(other) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                format!("range {other:?} is not one of \"hour\", \"day\""),
            ))
        }
    };
    let window = ActivityWindow::ending_at(chrono::Utc::now(), bucket, buckets);
    let queues = state.store().activity(&window).await?;
    Ok(Json(ActivityResponse {
        range: range.to_string(),
        bucket_seconds: bucket.as_secs(),
        since: window.since,
        queues,
    }))
}
