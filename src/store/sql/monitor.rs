//! The thread that looks after a local database file: it checkpoints the
//! write-ahead log.
//!
//! In WAL mode a commit appends the pages it changed to the `-wal` file; a
//! checkpoint copies them back into the database file and syncs both. By
//! default SQLite runs that checkpoint inside whichever commit takes the
//! log past 1,000 pages, so one transaction in every few dozen stalls for
//! the copy and two `fsync`s, and a worker's round trip waits for it. The
//! store checkpoints from a thread of its own instead, every interval
//! (`SqliteConfig::checkpoint_interval`), in `PASSIVE` mode (it never
//! waits for, or blocks, a reader or a writer), and its other connections
//! keep an inline checkpoint only as a safety net, past
//! [`FALLBACK_AUTOCHECKPOINT`] pages.
//!
//! Both local backends use this thread, each through a connection of its
//! own kind ([`MonitorConnection`]).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::error::{StoreError, StoreResult};

/// Pages of log after which a connection checkpoints inline anyway (about
/// 40 MB with 4 KiB pages): reached only if the monitor falls behind or
/// stops.
pub(crate) const FALLBACK_AUTOCHECKPOINT: u32 = 10_000;

/// The monitor's own connection to the database file.
pub(crate) trait MonitorConnection: Send + 'static {
    /// Runs `PRAGMA wal_checkpoint(PASSIVE)`.
    fn checkpoint(&mut self) -> Result<(), String>;
}

/// The monitor thread of one store. Dropping this stops the thread and
/// waits for it to close its connection (at most the end of a checkpoint
/// in progress): the store's last connection to close is then a known
/// one, and SQLite, closing it, checkpoints the log and removes the `-wal`
/// and `-shm` files before the process exits.
#[derive(Debug)]
pub(crate) struct Monitor {
    // Dropping the sender wakes the thread and ends it.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Monitor {
    /// Checkpoints through `conn` every `interval` until dropped.
    pub(crate) fn start(conn: impl MonitorConnection, interval: Duration) -> StoreResult<Monitor> {
        let (stop, stopped) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("jobstore-monitor".into())
            .spawn(move || run(conn, &stopped, interval))
            .map_err(|e| StoreError::Database(format!("cannot start the monitor thread: {e}")))?;
        Ok(Monitor {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("the monitor thread panicked");
            }
        }
    }
}

/// Checkpoints every `interval` until `stopped` is disconnected. A failure
/// is logged when a streak of them begins, and tried again next time.
fn run(mut conn: impl MonitorConnection, stopped: &mpsc::Receiver<()>, interval: Duration) {
    let mut failing = false;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        match conn.checkpoint() {
            Ok(()) => failing = false,
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "checkpointing the write-ahead log failed; will try again");
                }
                failing = true;
            }
        }
    }
}
