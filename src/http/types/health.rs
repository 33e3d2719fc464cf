//! Whether the server is fit to serve.

use serde::{Deserialize, Serialize};

/// What `GET /healthz` answers: 200 when healthy, 503 otherwise.
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
