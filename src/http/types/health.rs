//! Whether the server is fit to serve.

use serde::{Deserialize, Serialize};

/// What `GET /healthz` answers, with a valid token (or on a server with
/// none configured): 200 when healthy, 503 otherwise. Without a token, on
/// a server that needs one, the answer is only `{"status": "ok"}` or
/// `{"status": "unavailable"}`, with the same status codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `"ok"` or `"unavailable"`.
    pub status: String,
    /// Whether the store answered a query.
    pub store_ok: bool,
    /// Whether the in-process worker's loop is going round (or starting:
    /// `message` then says so); `null` when this server runs no worker.
    pub worker_ok: Option<bool>,
    /// What is wrong, when something is.
    pub message: Option<String>,
}
