//! The body of every error response.

use serde::{Deserialize, Serialize};

/// What every refused or failed request answers:
/// `{"error": {"code": "not_found", "message": "job ... not found"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// A stable code for programs and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What kind of error: stable, safe to match on.
    pub code: ErrorCode,
    /// What went wrong, for a person: wording may change.
    pub message: String,
}

/// The kinds of error the API answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 404: no such job, cron schedule or endpoint.
    NotFound,
    /// 400: a job id in the path or query is not a UUID.
    InvalidId,
    /// 400: the body is not well-formed JSON.
    MalformedJson,
    /// 400: the body is JSON but not an acceptable request (a missing or
    /// unknown field, a value out of range), or a schedule name in the
    /// path is not acceptable.
    InvalidRequest,
    /// 400: a query parameter is not acceptable.
    InvalidQuery,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 415: the body is not declared as `application/json`.
    UnsupportedMediaType,
    /// 405: the endpoint does not take this method.
    MethodNotAllowed,
    /// 401: the bearer token is missing or wrong.
    Unauthorized,
    /// 403: the token is the read-only one, and the request would change
    /// something (any method but `GET` and `HEAD`): it needs the operator
    /// token.
    Forbidden,
    /// 409: the job had already finished (cancel).
    AlreadyFinished,
    /// 409: the job is not in a state that allows this (retry of a job
    /// that did not fail or was not cancelled).
    InvalidTransition,
    /// 500: the server failed; its log says why.
    Internal,
    /// 503: the store cannot be reached or written.
    Unavailable,
    /// A code this version does not know (sent by a newer server).
    #[serde(other)]
    Other,
}
