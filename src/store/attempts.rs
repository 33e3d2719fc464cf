//! A job's attempts, as the store keeps them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::job::{Job, JobStatus};

/// How an attempt ended, or that it is still running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptEnd {
    /// It is running now.
    Running,
    /// It completed the job.
    Completed,
    /// It failed transiently; the job runs again.
    Retried,
    /// It failed for good: the job's last attempt, or a permanent error.
    Failed,
    /// It stopped because the job was cancelled.
    Cancelled,
    /// Its worker stopped heartbeating; another worker rescued the job
    /// ([`AttemptRecord::ended_by`]).
    Lost,
    /// Its worker shut down and handed the job back without spending an
    /// attempt.
    Released,
}

impl AttemptEnd {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptEnd::Running => "running",
            AttemptEnd::Completed => "completed",
            AttemptEnd::Retried => "retried",
            AttemptEnd::Failed => "failed",
            AttemptEnd::Cancelled => "cancelled",
            AttemptEnd::Lost => "lost",
            AttemptEnd::Released => "released",
        }
    }

    /// The end a stored name stands for.
    pub(crate) fn from_db(name: &str) -> Result<Self, StoreError> {
        [
            AttemptEnd::Running,
            AttemptEnd::Completed,
            AttemptEnd::Retried,
            AttemptEnd::Failed,
            AttemptEnd::Cancelled,
            AttemptEnd::Lost,
            AttemptEnd::Released,
        ]
        .into_iter()
        .find(|end| end.as_str() == name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown attempt outcome {name:?}")))
    }
}

impl fmt::Display for AttemptEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt of a job: who ran it, when, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The worker that ran it (`WorkerConfig::worker_id`).
    pub worker: Option<String>,
    /// The machine that worker ran on, while the store knows the worker
    /// (see [`JobStore::workers`](crate::JobStore::workers): a day after it
    /// was last seen).
    pub host: Option<String>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended (`None` while running); for a lost attempt, when it
    /// was rescued.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: AttemptEnd,
    /// Its error, in full.
    pub error: Option<String>,
    /// Who ended it, when not its own worker: the worker that rescued a
    /// lost attempt.
    pub ended_by: Option<String>,
}

/// The attempts of `job`: `recorded` (the ones that did not complete it,
/// in order) and, from the job's own row, the attempt running now or the
/// one that completed it (its worker on `host`).
pub(crate) fn with_current(
    job: &Job,
    mut recorded: Vec<AttemptRecord>,
    host: Option<String>,
) -> Vec<AttemptRecord> {
    let current = match job.status {
        JobStatus::Running => Some(AttemptEnd::Running),
        JobStatus::Completed => Some(AttemptEnd::Completed),
        _ => None,
    };
    if let Some(outcome) = current {
        if job.attempt > 0 && recorded.iter().all(|r| r.attempt != job.attempt) {
            recorded.push(AttemptRecord {
                attempt: job.attempt,
                worker: job.locked_by.clone(),
                host,
                started_at: job.started_at,
                finished_at: (outcome == AttemptEnd::Completed)
                    .then_some(job.completed_at)
                    .flatten(),
                outcome,
                error: None,
                ended_by: None,
            });
        }
    }
    recorded.sort_by_key(|r| r.attempt);
    recorded
}
