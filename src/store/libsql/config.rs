//! How a [`LibsqlStore`](super::LibsqlStore) reaches its database.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};
pub use crate::store::location::LibsqlLocation;

/// Settings of the libSQL backend.
#[derive(Clone, Debug)]
pub struct LibsqlConfig {
    /// Where the database is.
    pub location: LibsqlLocation,
    /// How long a local statement waits for another connection's write
    /// lock before it gives up.
    pub busy_timeout: Duration,
    /// The longest one operation may wait for the database (a server that
    /// stops answering) before it fails.
    pub operation_timeout: Duration,
    /// Where the store reads the current time.
    pub clock: SharedClock,
    /// For a local file: how often a thread of the store's own checkpoints
    /// the write-ahead log, as the Diesel backend does (see
    /// [`SqliteConfig::checkpoint_interval`](crate::SqliteConfig)); `None`
    /// leaves it to SQLite, inside commits. Unused for a server.
    pub checkpoint_interval: Option<Duration>,
    /// For a local file: whether commits are noticed the moment the file is
    /// written, or by a poll only (see
    /// [`SqliteConfig::watch_changes`](crate::SqliteConfig)). Unused for a
    /// server, which pushes nothing.
    pub watch_changes: bool,
}

impl LibsqlConfig {
    /// Busy timeout unless told otherwise.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
    /// Operation timeout unless told otherwise.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

    /// Defaults for a local database file at `path`.
    pub fn local(path: impl Into<PathBuf>) -> Self {
        Self::at(LibsqlLocation::Local(path.into()))
    }

    /// Defaults for a remote database at `url`, with `auth_token` (empty
    /// when the server requires none).
    pub fn remote(url: impl Into<String>, auth_token: impl Into<String>) -> Self {
        Self::at(LibsqlLocation::Remote {
            url: url.into(),
            auth_token: auth_token.into(),
        })
    }

    /// Defaults for the database at `location`.
    pub fn at(location: LibsqlLocation) -> Self {
        LibsqlConfig {
            location,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
            clock: Arc::new(SystemClock),
            checkpoint_interval: Some(crate::SqliteConfig::DEFAULT_CHECKPOINT_INTERVAL),
            watch_changes: true,
        }
    }

    /// Sets the busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets the operation timeout.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Sets the checkpoint interval of a local file; `None` leaves
    /// checkpoints to SQLite.
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// For a local file: whether commits are noticed as the file is written
    /// (default), or by a poll only.
    pub fn watch_changes(mut self, watch: bool) -> Self {
        self.watch_changes = watch;
        self
    }

    /// Reads time from `clock` (tests move time instead of sleeping).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}
