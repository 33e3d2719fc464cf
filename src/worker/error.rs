//! How a handler says what went wrong, and what can stop a worker.

use std::fmt;

use crate::error::StoreError;

/// Whether a handler's failure is worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobErrorKind {
    /// Network errors, timeouts, busy resources: retried with backoff while
    /// attempts remain.
    Transient,
    /// Bad input, unsupported format: the job fails at once.
    Permanent,
}

/// A handler's failure.
///
/// Any `std::error::Error` converts into a *transient* `JobError` with `?`:
/// most unexpected errors (I/O, network) are worth the one automatic retry.
/// Mark the ones no retry can fix with [`JobError::permanent`] or
/// [`ResultExt::permanent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobError {
    kind: JobErrorKind,
    message: String,
}

impl JobError {
    /// A failure worth retrying.
    pub fn transient(message: impl fmt::Display) -> Self {
        JobError {
            kind: JobErrorKind::Transient,
            message: message.to_string(),
        }
    }

    /// A failure no retry will fix.
    pub fn permanent(message: impl fmt::Display) -> Self {
        JobError {
            kind: JobErrorKind::Permanent,
            message: message.to_string(),
        }
    }

    /// Whether to retry.
    pub fn kind(&self) -> JobErrorKind {
        self.kind
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for JobError {
    fn from(error: E) -> Self {
        JobError::transient(error)
    }
}

/// Marks the error of a `Result` as transient or permanent.
pub trait ResultExt<T> {
    /// A failure no retry will fix.
    fn permanent(self) -> Result<T, JobError>;
    /// A failure worth retrying.
    fn transient(self) -> Result<T, JobError>;
}

impl<T, E: fmt::Display> ResultExt<T> for Result<T, E> {
    fn permanent(self) -> Result<T, JobError> {
        self.map_err(JobError::permanent)
    }

    fn transient(self) -> Result<T, JobError> {
        self.map_err(JobError::transient)
    }
}

/// What stops a worker or refuses its setup.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Two handlers were registered under one job type name.
    #[error("job type {0:?} is already registered")]
    DuplicateJobType(String),
    /// The configuration is unusable.
    #[error("worker configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker loop could not start, or ended in a panic.
    #[error("worker loop: {0}")]
    Loop(String),
}
