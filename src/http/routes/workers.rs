//! `GET /workers`: the workers seen in the last day.

use axum::extract::State;
use axum::Json;

use crate::http::error::ApiError;
use crate::http::HttpState;
use crate::store::WorkerRecord;

/// Every worker seen in the last day, newest first, alive or gone.
pub(crate) async fn list(
    State(state): State<HttpState>,
) -> Result<Json<Vec<WorkerRecord>>, ApiError> {
    Ok(Json(state.store().workers().await?))
}
