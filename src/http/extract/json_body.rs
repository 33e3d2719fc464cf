//! A JSON request body, with errors that name the problem.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::http::error::ApiError;
use crate::http::types::ErrorCode;

/// A body declared as `application/json` and parsed into `T`.
///
/// Refused before anything happens: a body over the limit (413), one not
/// declared as JSON (415), malformed JSON (400 `malformed_json`, with the
/// line and column), and JSON of the wrong shape (400 `invalid_request`,
/// with the path of the offending field).
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !declares_json(&req) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    "the body is larger than this server accepts",
                )
            } else {
                ApiError::bad_request(ErrorCode::MalformedJson, rejection.body_text())
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

fn declares_json(req: &Request) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => {
                let at = if path == "." {
                    String::new()
                } else {
                    format!("at `{path}`: ")
                };
                ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("the request body is not acceptable: {at}{inner}"),
                )
            }
            Category::Syntax | Category::Eof | Category::Io => malformed(&inner),
        }
    })?;
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::bad_request(
        ErrorCode::MalformedJson,
        format!("the request body is not valid JSON: {error}"),
    )
}
