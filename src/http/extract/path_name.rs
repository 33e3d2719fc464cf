//! A name taken from the path: a cron schedule's or a queue's.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::http::error::ApiError;
use crate::http::types::ErrorCode;

/// The `{name}` of the path, percent-decoded, or a 400 `invalid_request`
/// naming `what` when it does not decode to UTF-8 (axum's own refusal is
/// plain text). Whether the name is acceptable is the store's to say.
async fn name<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    what: &str,
) -> Result<String, ApiError> {
    let Path(name) = Path::<String>::from_request_parts(parts, state)
        .await
        .map_err(|e| {
            ApiError::bad_request(
                ErrorCode::InvalidRequest,
                format!(
                    "the {what} name in the path is not acceptable: {}",
                    e.body_text()
                ),
            )
        })?;
    Ok(name)
}

/// A cron schedule's `{name}` from the path.
#[derive(Debug, Clone)]
pub(crate) struct ScheduleNamePath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ScheduleNamePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        name(parts, state, "schedule").await.map(ScheduleNamePath)
    }
}

/// A queue's `{name}` from the path.
#[derive(Debug, Clone)]
pub(crate) struct QueueNamePath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for QueueNamePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        name(parts, state, "queue").await.map(QueueNamePath)
    }
}
