//! A job id taken from the path.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::http::error::ApiError;
use crate::http::types::ErrorCode;
use crate::job::JobId;

/// The `{id}` of the path, refused with 400 `invalid_id` when it is not a
/// UUID.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobIdPath(pub JobId);

impl<S: Send + Sync> FromRequestParts<S> for JobIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidId, e.body_text()))?;
        raw.parse()
            .map(JobIdPath)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidId, format!("{e}")))
    }
}
