//! What failing, cancelling and rescuing jobs lead to.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::job::JobStatus;

/// Why an attempt failed, and whether it is worth another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, shown to users as the job's error.
    pub message: String,
    /// Whether to retry.
    pub kind: FailureKind,
}

/// Whether a failure is worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Network errors, timeouts, busy resources: retry after `delay` while
    /// attempts remain.
    Transient {
        /// How long to wait before the job is claimable again.
        delay: Duration,
    },
    /// Bad input, unsupported format: fail now.
    Permanent,
}

impl Failure {
    /// A failure worth retrying at once.
    pub fn transient(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            kind: FailureKind::Transient {
                delay: Duration::ZERO,
            },
        }
    }

    /// A failure that no retry will fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            kind: FailureKind::Permanent,
        }
    }

    /// Retries no sooner than `delay` from now (transient failures only).
    pub fn retry_after(mut self, delay: Duration) -> Self {
        if let FailureKind::Transient { .. } = self.kind {
            self.kind = FailureKind::Transient { delay };
        }
        self
    }
}

/// What became of a job after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back to pending for another attempt.
    Retrying {
        /// When it becomes claimable again.
        run_at: DateTime<Utc>,
        /// Retries so far, this one included.
        retry_count: u32,
    },
    /// Failed for good.
    Failed,
    /// Cancelled: cancellation was requested while it ran.
    Cancelled,
}

/// What a cancel request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "status", rename_all = "snake_case")]
pub enum CancelOutcome {
    /// The job was pending and is now cancelled.
    Cancelled,
    /// The job is running: its worker was asked to stop it and will mark it
    /// cancelled.
    Requested,
    /// The job had already finished; nothing changed.
    AlreadyFinished(JobStatus),
}

/// What one pass of the rescuer did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescueSummary {
    /// Jobs returned to pending for another attempt.
    pub requeued: u64,
    /// Jobs failed because no attempts remained.
    pub failed: u64,
    /// Jobs cancelled because cancellation had been requested.
    pub cancelled: u64,
    /// The failed jobs counted by type (they add up to `failed`).
    pub failed_by_type: BTreeMap<String, u64>,
}

impl RescueSummary {
    /// All jobs rescued.
    pub fn total(&self) -> u64 {
        self.requeued + self.failed + self.cancelled
    }
}
