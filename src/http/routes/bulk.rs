//! `POST /jobs/bulk`: retry, cancel or delete every job a filter matches.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::HttpState;
use crate::store::{BulkAction, BulkOutcome, JobFilter};

/// The body of `POST /jobs/bulk`:
/// `{"action": "retry", "filter": {"statuses": ["failed"], "job_type": "exec"}, "dry_run": true}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkRequest {
    action: BulkAction,
    filter: JobFilter,
    #[serde(default)]
    dry_run: bool,
}

/// Applies the action to every matching job in one transaction (or, with
/// `dry_run`, counts what it would do) and answers the counts.
pub(crate) async fn apply(
    State(state): State<HttpState>,
    JsonBody(request): JsonBody<BulkRequest>,
) -> Result<Json<BulkOutcome>, ApiError> {
    let store = state.store();
    let outcome = if request.dry_run {
        store.bulk_preview(request.action, &request.filter).await?
    } else {
        store.bulk(request.action, &request.filter).await?
    };
    let enqueued = request.action == BulkAction::Retry && !outcome.dry_run && outcome.applied > 0;
    if let (true, Some(worker)) = (enqueued, state.worker_ref()) {
        worker.wake();
    }
    Ok(Json(outcome))
}
