//! `GET /stats`.

use axum::extract::State;
use axum::Json;

use crate::http::error::ApiError;
use crate::http::job_stats::job_stats;
use crate::http::types::StatsResponse;
use crate::http::HttpState;

/// Counts of jobs by status and by type.
pub(crate) async fn show(State(state): State<HttpState>) -> Result<Json<StatsResponse>, ApiError> {
    let stats = job_stats(state.store().as_ref()).await?;
    Ok(Json(stats))
}
