//! The typed errors of every store operation.

use crate::job::{JobId, JobStatus};

/// Everything a [`JobStore`](crate::JobStore) operation can refuse or fail with.
///
/// A refused operation changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No job has this id.
    #[error("job {0} not found")]
    NotFound(JobId),

    /// No cron schedule has this name.
    #[error("cron schedule {0:?} not found")]
    ScheduleNotFound(String),

    /// A worker wrote to a job through a lease it no longer holds: the job
    /// was rescued (and perhaps claimed again), finished or cancelled since.
    #[error(
        "job {id}: attempt {attempt} no longer holds the lease (the job is {status} at attempt {current_attempt})"
    )]
    LeaseLost {
        /// The job.
        id: JobId,
        /// The attempt (fencing token) the caller presented.
        attempt: u32,
        /// The job's attempt now.
        current_attempt: u32,
        /// The job's status now.
        status: JobStatus,
    },

    /// The operation does not apply to a job in this state.
    #[error("cannot {action} job {id}: it is {status}")]
    InvalidTransition {
        /// The job.
        id: JobId,
        /// What was attempted, e.g. "retry".
        action: &'static str,
        /// The job's status, which does not allow it.
        status: JobStatus,
    },

    /// The input was refused before anything was stored.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The database holds migrations this binary does not know: it was
    /// migrated by a newer version of jobstore.
    #[error(
        "the database schema is newer than this binary: it has migration {database}, the newest this binary knows is {binary}; upgrade jobstore"
    )]
    SchemaTooNew {
        /// The newest migration version applied to the database.
        database: String,
        /// The newest migration version this binary carries.
        binary: String,
    },

    /// Applying migrations failed.
    #[error("migration failed: {message}")]
    Migration {
        /// What failed, and the migration it failed in.
        message: String,
        /// The error it came from, when there was one.
        #[source]
        source: Option<ErrorSource>,
    },

    /// The configuration is missing or malformed.
    #[error("configuration: {0}")]
    Config(String),

    /// The database could not be opened or reached.
    #[error("cannot open database {location}: {reason}")]
    Open {
        /// The path or URL.
        location: String,
        /// What went wrong.
        reason: String,
        /// The error it came from, when there was one.
        #[source]
        source: Option<ErrorSource>,
    },

    /// The database file, or the directory that holds it, cannot be
    /// written by this process. jobstore needs both: opening applies
    /// migrations, and SQLite keeps its write-ahead log (`-wal` and `-shm`
    /// files) beside the database. Nothing was changed.
    #[error("database {location} is read-only: {reason}")]
    ReadOnly {
        /// The path or URL.
        location: String,
        /// What cannot be written, and why.
        reason: String,
    },

    /// The database reported an error.
    #[error("database error: {message}")]
    Database {
        /// What the database said.
        message: String,
        /// The error it came from (the driver's), when there was one.
        #[source]
        source: Option<ErrorSource>,
    },

    /// A stored value could not be read back (hand-edited or damaged data).
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

/// The underlying error a [`StoreError`] keeps as its source (the
/// driver's, a migration's).
pub type ErrorSource = std::sync::Arc<dyn std::error::Error + Send + Sync>;

impl StoreError {
    /// A database error with nothing beneath it.
    pub fn database(message: impl Into<String>) -> Self {
        StoreError::Database {
            message: message.into(),
            source: None,
        }
    }

    /// A database error caused by `source`, whose text is the message.
    pub fn database_from(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Database {
            message: source.to_string(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// A migration error with nothing beneath it.
    pub fn migration(message: impl Into<String>) -> Self {
        StoreError::Migration {
            message: message.into(),
            source: None,
        }
    }

    /// A migration error caused by `source`, whose text is the message.
    pub fn migration_from(source: Box<dyn std::error::Error + Send + Sync>) -> Self {
        StoreError::Migration {
            message: source.to_string(),
            source: Some(std::sync::Arc::from(source)),
        }
    }

    /// What the database said, for a [`StoreError::Database`].
    pub fn database_message(&self) -> Option<&str> {
        match self {
            StoreError::Database { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether this error tells a worker that its lease is gone and it must
    /// stop working on the job.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, StoreError::LeaseLost { .. })
    }
}

/// The result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> Self {
        StoreError::database_from(error)
    }
}
