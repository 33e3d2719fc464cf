//! What a cancel request did.

use serde::{Deserialize, Serialize};

use super::JobResponse;

/// What `POST /jobs/{id}/cancel` answers when it changed something.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelResponse {
    /// What happened.
    pub outcome: CancelAction,
    /// The job after the request.
    pub job: JobResponse,
}

/// What a cancel request did to a job that had not finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelAction {
    /// The job was pending and is now cancelled.
    Cancelled,
    /// The job is running: its worker was asked to stop it, and marks it
    /// cancelled within a heartbeat.
    CancelRequested,
}
