//! Which jobs a bulk action or a prune applies to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::job::{validate_queue_name, Job, JobId, JobStatus};

/// Jobs matching every criterion that is set: an id, a status among `statuses`
/// (any status when empty), a type, a queue, a correlation id, created or
/// finished before a moment.
///
/// ```
/// use jobstore::{JobFilter, JobStatus};
///
/// let failed_emails = JobFilter::default()
///     .status(JobStatus::Failed)
///     .job_type("email");
/// assert!(!failed_emails.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    /// Only the job with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<JobId>,
    /// Only jobs in one of these statuses (any status when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<JobStatus>,
    /// Only jobs of this type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    /// Only jobs in this queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Only jobs with this correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Only jobs created before this moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<DateTime<Utc>>,
    /// Only jobs that finished (completed, failed or were cancelled) before
    /// this moment; a job that has not finished never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_before: Option<DateTime<Utc>>,
}

impl JobFilter {
    /// Also jobs in `status` (several calls match any of them).
    pub fn status(mut self, status: JobStatus) -> Self {
        if !self.statuses.contains(&status) {
            self.statuses.push(status);
        }
        self
    }

    /// Only the job `id` (with the other criteria: a bulk action on one
    /// job, answering counts like any other).
    pub fn id(mut self, id: JobId) -> Self {
        self.id = Some(id);
        self
    }

    /// Only jobs of `job_type`.
    pub fn job_type(mut self, job_type: impl Into<String>) -> Self {
        self.job_type = Some(job_type.into());
        self
    }

    /// Only jobs in `queue`.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Only jobs with `correlation_id`.
    pub fn correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }

    /// Only jobs created before `at`.
    pub fn created_before(mut self, at: DateTime<Utc>) -> Self {
        self.created_before = Some(at);
        self
    }

    /// Only jobs that finished before `at`.
    pub fn finished_before(mut self, at: DateTime<Utc>) -> Self {
        self.finished_before = Some(at);
        self
    }

    /// Whether no criterion is set (every job matches).
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty()
            && self.id.is_none()
            && self.job_type.is_none()
            && self.queue.is_none()
            && self.correlation_id.is_none()
            && self.created_before.is_none()
            && self.finished_before.is_none()
    }

    /// Whether `job` matches.
    pub fn matches(&self, job: &Job) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&job.status))
            && self.id.is_none_or(|id| id == job.id)
            && self.job_type.as_ref().is_none_or(|t| *t == job.job_type)
            && self.queue.as_ref().is_none_or(|q| *q == job.queue)
            && self
                .correlation_id
                .as_ref()
                .is_none_or(|c| job.correlation_id.as_ref() == Some(c))
            // Times are stored to the millisecond: so are the bounds read.
            && self
                .created_before
                .is_none_or(|at| job.created_at < crate::time::truncate(at))
            && self.finished_before.is_none_or(|at| {
                job.status.is_terminal()
                    && job
                        .completed_at
                        .is_some_and(|done| done < crate::time::truncate(at))
            })
    }

    /// Refuses a filter that could only be a mistake: an empty type,
    /// queue or correlation id, or an invalid queue name.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.job_type.as_deref() == Some("") {
            return Err(StoreError::InvalidInput(
                "the job type to match is empty".into(),
            ));
        }
        if self.correlation_id.as_deref() == Some("") {
            return Err(StoreError::InvalidInput(
                "the correlation id to match is empty".into(),
            ));
        }
        if let Some(queue) = &self.queue {
            validate_queue_name(queue)?;
        }
        Ok(())
    }

    /// Refuses an empty filter for an action on many jobs: "every job" must
    /// be said with a status (or several), never by leaving criteria out.
    pub(crate) fn validate_for(&self, action: &str) -> Result<(), StoreError> {
        self.validate()?;
        if self.is_empty() {
            return Err(StoreError::InvalidInput(format!(
                "{action} on every job needs at least one filter (status, type, queue, \
                 correlation id, created before or finished before)"
            )));
        }
        Ok(())
    }
}
