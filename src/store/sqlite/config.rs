//! How a [`SqliteStore`](super::SqliteStore) opens its database.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};

/// Settings of the SQLite backend.
#[derive(Clone, Debug)]
pub struct SqliteConfig {
    /// The database file; created (with its schema) when missing.
    pub path: PathBuf,
    /// The most pooled connections.
    pub max_connections: usize,
    /// How long a statement waits for another connection's write lock
    /// before it gives up with `database is locked`.
    pub busy_timeout: Duration,
    /// Where the store reads the current time.
    pub clock: SharedClock,
}

impl SqliteConfig {
    /// Pooled connections unless told otherwise.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 8;
    /// Busy timeout unless told otherwise.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Defaults for the database at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: path.into(),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets the pool size.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets the busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Reads time from `clock` (tests move time instead of sleeping).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}
