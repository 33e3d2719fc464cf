//! Turning every failure into a JSON error response.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::types::{ErrorBody, ErrorCode, ErrorResponse};
use crate::error::StoreError;

/// A refused or failed request: its status, code and message.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "a valid bearer token is required (Authorization: Bearer TOKEN)",
        )
    }

    /// 403 for a read-only token on a request that would change
    /// something; `action` names it (`POST /jobs/{id}/cancel`).
    pub(crate) fn forbidden(action: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!("this token may only watch: {action} needs the operator token"),
        )
    }

    pub(crate) fn body(&self) -> ErrorResponse {
        ErrorResponse {
            error: ErrorBody {
                code: self.code,
                message: self.message.clone(),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::NotFound(_) | StoreError::ScheduleNotFound(_) => {
                ApiError::not_found(error.to_string())
            }
            StoreError::InvalidInput(_) => {
                ApiError::bad_request(ErrorCode::InvalidRequest, error.to_string())
            }
            StoreError::InvalidTransition { .. } | StoreError::LeaseLost { .. } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::InvalidTransition,
                error.to_string(),
            ),
            StoreError::Open { .. } => {
                tracing::error!(%error, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "the job store cannot be reached; the server log says why",
                )
            }
            StoreError::ReadOnly { .. } => {
                tracing::error!(%error, "store read-only");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "the job store cannot be written; the server log says why",
                )
            }
            _ => {
                tracing::error!(%error, "store error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "the job store failed; the server log says why",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(self.body());
        if self.status == StatusCode::UNAUTHORIZED {
            return (self.status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
        (self.status, body).into_response()
    }
}
