//! How jobs are shown on the command line.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::CliError;
use crate::{Job, JobStatus, JobStore};

/// A job with its place in the queue, as `--json` prints it.
#[derive(Debug, Serialize)]
pub(super) struct JobView {
    #[serde(flatten)]
    pub job: Job,
    /// Jobs ahead of it, while pending.
    pub queue_position: Option<u64>,
}

impl JobView {
    /// The job with its queue position looked up (pending jobs only).
    pub async fn load(store: &dyn JobStore, job: Job) -> Result<Self, CliError> {
        let queue_position = if job.status == JobStatus::Pending {
            store.queue_position(job.id).await?
        } else {
            None
        };
        Ok(JobView {
            job,
            queue_position,
        })
    }

    /// The status, with the queue position of a pending job.
    pub fn status(&self) -> String {
        match self.queue_position {
            Some(ahead) => format!("pending ({ahead} ahead)"),
            None if self.job.cancel_requested && self.job.status == JobStatus::Running => {
                "running (cancel requested)".into()
            }
            None => self.job.status.to_string(),
        }
    }
}

/// The stage and, when the stage measures it, the percent.
pub(super) fn progress(job: &Job) -> String {
    match (&job.stage, job.progress) {
        (Some(stage), Some(percent)) => format!("{stage} {}", percent_text(percent)),
        (Some(stage), None) => stage.clone(),
        (None, _) => "-".into(),
    }
}

/// A percent with at most one decimal: `42%`, `42.5%`.
pub(super) fn percent_text(percent: f32) -> String {
    if percent.fract() == 0.0 {
        format!("{percent:.0}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// Attempts made out of those allowed.
pub(super) fn attempts(job: &Job) -> String {
    format!("{} of {}", job.attempt, job.max_attempts)
}

/// A time to the second, in UTC.
pub(super) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// JSON for scripts.
pub(super) fn json<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))
}
