//! `POST /jobs/{id}/cancel`, `POST /jobs/{id}/retry` and `DELETE /jobs/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::view::job_response;
use crate::http::error::ApiError;
use crate::http::extract::JobIdPath;
use crate::http::types::{CancelAction, CancelResponse, ErrorCode, JobResponse};
use crate::http::HttpState;
use crate::job::JobStatus;
use crate::store::{BulkAction, BulkOutcome, CancelOutcome, JobFilter};

/// Cancels a pending job, or asks a running one's worker to stop it; 409
/// when the job had already finished.
pub(crate) async fn cancel(
    State(state): State<HttpState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<CancelResponse>, ApiError> {
    let store = state.store().as_ref();
    let outcome = match store.cancel(id).await? {
        CancelOutcome::Cancelled => CancelAction::Cancelled,
        CancelOutcome::Requested => CancelAction::CancelRequested,
        CancelOutcome::AlreadyFinished(status) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::AlreadyFinished,
                format!("job {id} already finished ({status}); nothing to cancel"),
            ));
        }
    };
    let job = job_response(store, store.get(id).await?).await?;
    Ok(Json(CancelResponse { outcome, job }))
}

/// Enqueues a new job like a failed or cancelled one: 201 with the new
/// job; 409 for a job in any other state.
pub(crate) async fn retry(
    State(state): State<HttpState>,
    JobIdPath(id): JobIdPath,
) -> Result<(StatusCode, Json<JobResponse>), ApiError> {
    let store = state.store().as_ref();
    let job = store.retry(id).await?;
    Ok((StatusCode::CREATED, Json(job_response(store, job).await?)))
}

/// Deletes one job that is not running, with its attempts: 200 with the
/// counts (as `POST /jobs/bulk` answers); 409 while it runs (cancel it
/// first); 404 for an unknown job.
pub(crate) async fn delete(
    State(state): State<HttpState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<BulkOutcome>, ApiError> {
    let store = state.store().as_ref();
    let running = || {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InvalidTransition,
            format!("job {id} is running; cancel it first, then delete it"),
        )
    };
    if store.get(id).await?.status == JobStatus::Running {
        return Err(running());
    }
    let outcome = store
        .bulk(BulkAction::Delete, &JobFilter::default().id(id))
        .await?;
    if outcome.applied == 0 {
        // It started (or went) between the read and the delete.
        return match store.get(id).await {
            Ok(_) => Err(running()),
            Err(e) => Err(e.into()),
        };
    }
    Ok(Json(outcome))
}
