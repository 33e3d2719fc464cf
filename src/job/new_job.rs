//! What a caller submits to create a job.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::StoreError;

/// A job to be created.
///
/// ```
/// use jobstore::NewJob;
///
/// let job = NewJob::new("send_email", serde_json::json!({ "to": "ada@example.com" }))
///     .max_attempts(3)
///     .correlation_id("signup-42");
/// assert_eq!(job.job_type(), "send_email");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub(crate) job_type: String,
    pub(crate) params: serde_json::Value,
    pub(crate) schedule: Schedule,
    pub(crate) max_attempts: u32,
    pub(crate) correlation_id: Option<String>,
}

/// When a new job becomes claimable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Schedule {
    Now,
    At(DateTime<Utc>),
    After(Duration),
}

impl NewJob {
    /// Attempts a job gets unless told otherwise: one automatic retry.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 2;
    /// The most attempts a job may be given.
    pub const MAX_ATTEMPTS_LIMIT: u32 = 1000;
    /// The longest job type name accepted, in bytes.
    pub const MAX_JOB_TYPE_LEN: usize = 200;
    /// The largest params accepted, as serialized JSON bytes.
    pub const MAX_PARAMS_BYTES: usize = 1024 * 1024;
    /// The longest correlation id accepted, in bytes.
    pub const MAX_CORRELATION_ID_LEN: usize = 200;

    /// A job of `job_type` with `params`, claimable at once.
    pub fn new(job_type: impl Into<String>, params: serde_json::Value) -> Self {
        NewJob {
            job_type: job_type.into(),
            params,
            schedule: Schedule::Now,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            correlation_id: None,
        }
    }

    /// A job whose params are any serializable value.
    ///
    /// A value that cannot be serialized to JSON is refused here, before
    /// anything is stored.
    pub fn with_params<P: Serialize>(
        job_type: impl Into<String>,
        params: &P,
    ) -> Result<Self, StoreError> {
        let params = serde_json::to_value(params).map_err(|e| {
            StoreError::InvalidInput(format!("params cannot be serialized to JSON: {e}"))
        })?;
        Ok(Self::new(job_type, params))
    }

    /// Not claimable before `at`.
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.schedule = Schedule::At(at);
        self
    }

    /// Not claimable until `delay` after creation.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.schedule = Schedule::After(delay);
        self
    }

    /// How many attempts may fail before the job fails for good (default 2).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Groups this job with related ones, for listing.
    pub fn correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }

    /// The job type.
    pub fn job_type(&self) -> &str {
        &self.job_type
    }

    /// The params.
    pub fn params(&self) -> &serde_json::Value {
        &self.params
    }

    /// Checks every field; a refused job stores nothing.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let invalid = |msg: String| Err(StoreError::InvalidInput(msg));
        if self.job_type.trim().is_empty() {
            return invalid("job type must not be empty".into());
        }
        if self.job_type.len() > Self::MAX_JOB_TYPE_LEN {
            return invalid(format!(
                "job type is {} bytes long; at most {} are allowed",
                self.job_type.len(),
                Self::MAX_JOB_TYPE_LEN
            ));
        }
        // A type names a handler: a control character there is a mistake,
        // and a NUL one would end the name early in SQLite's length check.
        if self.job_type.chars().any(char::is_control) {
            return invalid("job type must not hold control characters".into());
        }
        if !(1..=Self::MAX_ATTEMPTS_LIMIT).contains(&self.max_attempts) {
            return invalid(format!(
                "max_attempts is {}; it must be between 1 and {}",
                self.max_attempts,
                Self::MAX_ATTEMPTS_LIMIT
            ));
        }
        if let Some(id) = &self.correlation_id {
            if id.is_empty() || id.len() > Self::MAX_CORRELATION_ID_LEN {
                return invalid(format!(
                    "correlation id must be 1 to {} bytes long",
                    Self::MAX_CORRELATION_ID_LEN
                ));
            }
        }
        Ok(())
    }

    /// When the job becomes claimable, if created at `now`.
    pub(crate) fn claimable_at(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        match self.schedule {
            Schedule::Now => Ok(now),
            Schedule::At(at) => Ok(at),
            Schedule::After(delay) => crate::time::add(now, delay),
        }
    }
}
