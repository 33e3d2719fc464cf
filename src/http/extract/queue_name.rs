//! A queue's name taken from the path.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::http::error::ApiError;
use crate::http::types::ErrorCode;

/// The `{name}` of the path, percent-decoded; refused with 400
/// `invalid_request` when it does not decode to UTF-8 (axum's own refusal
/// is plain text). Whether the name is acceptable is the store's to say.
#[derive(Debug, Clone)]
pub(crate) struct QueueNamePath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for QueueNamePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(name) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!(
                        "the queue name in the path is not acceptable: {}",
                        e.body_text()
                    ),
                )
            })?;
        Ok(QueueNamePath(name))
    }
}
