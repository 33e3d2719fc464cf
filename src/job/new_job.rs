//! What a caller submits to create a job.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{UniqueKey, UniqueScope};
use crate::error::StoreError;

/// A job to be created.
///
/// ```
/// use jobstore::NewJob;
///
/// let job = NewJob::new("send_email", serde_json::json!({ "to": "ada@example.com" }))
///     .max_attempts(3)
///     .correlation_id("signup-42")
///     .queue("mail")
///     .priority(2);
/// assert_eq!(job.job_type(), "send_email");
/// assert_eq!(job.queue_name(), Some("mail"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub(crate) job_type: String,
    pub(crate) params: serde_json::Value,
    pub(crate) schedule: Schedule,
    pub(crate) max_attempts: u32,
    pub(crate) correlation_id: Option<String>,
    pub(crate) queue: Option<String>,
    pub(crate) priority: u8,
    pub(crate) unique: Option<UniqueKey>,
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
    /// The queue of a job that names none (and whose type names none).
    pub const DEFAULT_QUEUE: &'static str = "default";
    /// The longest queue name accepted, in bytes.
    pub const MAX_QUEUE_LEN: usize = 100;
    /// The priority of a job that names none: the middle, so that a job
    /// can be put ahead of the rest as well as behind.
    pub const DEFAULT_PRIORITY: u8 = 5;
    /// The lowest priority (claimed last); 0 is the highest.
    pub const LOWEST_PRIORITY: u8 = 9;
    /// The longest unique key accepted, in bytes.
    pub const MAX_UNIQUE_KEY_LEN: usize = 200;

    /// A job of `job_type` with `params`, claimable at once.
    pub fn new(job_type: impl Into<String>, params: serde_json::Value) -> Self {
        NewJob {
            job_type: job_type.into(),
            params,
            schedule: Schedule::Now,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            correlation_id: None,
            queue: None,
            priority: Self::DEFAULT_PRIORITY,
            unique: None,
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

    /// Puts the job in `queue` (default: the queue its type names where
    /// the enqueuer knows the type, else [`NewJob::DEFAULT_QUEUE`]). Queue
    /// names are 1 to 100 ASCII letters, digits, `_`, `-`, `.` or `:`.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// The job's priority within its queue: 0 is claimed first, 9 last
    /// (default 5). Within a priority, jobs are claimed by `run_at`, then
    /// in the order they were created.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Makes the job unique by `key` for `scope`: while another job holds
    /// the key inside its scope, enqueueing this one returns that job
    /// instead (see [`Enqueued`](crate::store::Enqueued)).
    pub fn unique_key(mut self, key: impl Into<String>, scope: UniqueScope) -> Self {
        self.unique = Some(UniqueKey {
            key: key.into(),
            scope,
        });
        self
    }

    /// The queue this job names, if it names one.
    pub fn queue_name(&self) -> Option<&str> {
        self.queue.as_deref()
    }

    /// The job's unique key, if it has one.
    pub fn unique(&self) -> Option<&UniqueKey> {
        self.unique.as_ref()
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
        if let Some(queue) = &self.queue {
            validate_queue_name(queue)?;
        }
        if self.priority > Self::LOWEST_PRIORITY {
            return invalid(format!(
                "priority is {}; it must be between 0 (first) and {} (last)",
                self.priority,
                Self::LOWEST_PRIORITY
            ));
        }
        if let Some(unique) = &self.unique {
            if unique.key.is_empty() || unique.key.len() > Self::MAX_UNIQUE_KEY_LEN {
                return invalid(format!(
                    "unique key must be 1 to {} bytes long",
                    Self::MAX_UNIQUE_KEY_LEN
                ));
            }
            if unique.key.contains('\0') {
                return invalid("unique key must not hold a NUL character".into());
            }
        }
        Ok(())
    }

    /// The queue the job goes to.
    pub(crate) fn queue_or_default(&self) -> &str {
        self.queue.as_deref().unwrap_or(Self::DEFAULT_QUEUE)
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

/// Checks a queue name: 1 to [`NewJob::MAX_QUEUE_LEN`] ASCII letters,
/// digits, `_`, `-`, `.` or `:` (it appears in URLs and command lines).
pub fn validate_queue_name(queue: &str) -> Result<(), StoreError> {
    if queue.is_empty() || queue.len() > NewJob::MAX_QUEUE_LEN {
        return Err(StoreError::InvalidInput(format!(
            "queue name {queue:?} must be 1 to {} characters long",
            NewJob::MAX_QUEUE_LEN
        )));
    }
    if let Some(bad) = queue
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        return Err(StoreError::InvalidInput(format!(
            "queue name {queue:?} holds {bad:?}; use ASCII letters, digits, '_', '-', '.' or ':'"
        )));
    }
    Ok(())
}
