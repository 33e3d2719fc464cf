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
    /// The most connections: one writes (every write of this store goes
    /// through it), the others, at least one, read.
    pub max_connections: usize,
    /// How long a statement waits for another connection's write lock
    /// before it gives up with `database is locked`.
    pub busy_timeout: Duration,
    /// How often a thread of the store's own checkpoints the write-ahead
    /// log into the database file, so that commits do not have to (see
    /// [`SqliteConfig::DEFAULT_CHECKPOINT_INTERVAL`]); `None` leaves it to
    /// SQLite, which checkpoints inside the commit that takes the log past
    /// 1,000 pages.
    pub checkpoint_interval: Option<Duration>,
    /// Whether commits are noticed the moment the file is written (inotify
    /// on its directory), to wake whoever waits for one at once; with
    /// `false`, for a file system that does not report writes, they are
    /// noticed by a poll every quarter second.
    pub watch_changes: bool,
    /// Where the store reads the current time.
    pub clock: SharedClock,
}

impl SqliteConfig {
    /// Pooled connections unless told otherwise.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 8;
    /// Busy timeout unless told otherwise.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
    /// Checkpoint interval unless told otherwise: at a few thousand
    /// transactions a second, the log grows by a few megabytes in between.
    pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

    /// Defaults for the database at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: path.into(),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            checkpoint_interval: Some(Self::DEFAULT_CHECKPOINT_INTERVAL),
            watch_changes: true,
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

    /// Sets the checkpoint interval; `None` leaves checkpoints to SQLite's
    /// commits.
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Whether commits are noticed as the file is written (default), or by
    /// a poll only.
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
