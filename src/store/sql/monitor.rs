//! The thread that looks after a local database file: it checkpoints the
//! write-ahead log, and it notices commits (this process's and every other
//! one's) for the store's [`ChangeFeed`].
//!
//! **Checkpoints.** In WAL mode a commit appends the pages it changed to the
//! `-wal` file; a checkpoint copies them back into the database file and
//! syncs both. By default SQLite runs that checkpoint inside whichever
//! commit takes the log past 1,000 pages, so one transaction in every few
//! dozen stalls for the copy and two `fsync`s, and a worker's round trip
//! waits for it. The store checkpoints from this thread instead, every
//! interval (`SqliteConfig::checkpoint_interval`), in `PASSIVE` mode (it
//! never waits for, or blocks, a reader or a writer), and its other
//! connections keep an inline checkpoint only as a safety net, past
//! [`FALLBACK_AUTOCHECKPOINT`] pages.
//!
//! **Changes.** While someone subscribes to the feed, the thread watches
//! the database's directory with inotify for writes to the file or its
//! `-wal` (every commit writes the log), and on each reads `PRAGMA
//! data_version` on its own connection, which changes when any other
//! connection committed (a few microseconds, no disk I/O): a commit by any
//! process wakes the subscribers within about a millisecond. A write seen
//! before its commit is visible is read again a moment later, and the
//! version is also read every [`FALLBACK_POLL`] in case a notification is
//! missed (or inotify is off: a file system that does not report writes).
//! Nobody subscribed, nothing is watched, and the thread wakes only to
//! checkpoint.
//!
//! The watch is one-shot (`IN_ONESHOT`): the first write ends it, and the
//! thread sets it again once it has looked, reading the version right
//! after (so a commit in between is not missed). A watched write costs the
//! writer an event the kernel allocates and queues; a commit writes a page
//! at a time, and a busy worker commits in this same process thousands of
//! times a second, so a standing watch cost its loop thread a tenth of its
//! time. One-shot, a burst of commits costs one event per look.
//!
//! Both local backends use this thread, each through a connection of its
//! own kind ([`MonitorConnection`]).

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use crate::error::{StoreError, StoreResult};
use crate::store::ChangeFeed;

/// Pages of log after which a connection checkpoints inline anyway (about
/// 40 MB with 4 KiB pages): reached only if the monitor falls behind or
/// stops.
pub(crate) const FALLBACK_AUTOCHECKPOINT: u32 = 10_000;

/// How often the version is read while someone subscribes, notified or not.
pub(crate) const FALLBACK_POLL: Duration = Duration::from_millis(250);

/// After a change is told, further writes wait this long to be looked at:
/// a burst of commits costs a wake-up per interval, not one per commit.
const COALESCE: Duration = Duration::from_micros(500);

/// When a write was seen but the version had not moved (the commit was not
/// yet visible, or a transaction is still writing), it is read again after
/// these pauses.
const SETTLE: [Duration; 2] = [Duration::from_millis(1), Duration::from_millis(4)];

/// The monitor's own connection to the database file.
pub(crate) trait MonitorConnection: Send + 'static {
    /// Runs `PRAGMA wal_checkpoint(PASSIVE)`.
    fn checkpoint(&mut self) -> Result<(), String>;

    /// Reads `PRAGMA data_version`.
    fn data_version(&mut self) -> Result<i64, String>;
}

/// What the monitor does.
#[derive(Clone, Debug)]
pub(crate) struct MonitorSettings {
    /// How often to checkpoint; `None` leaves checkpoints to commits.
    pub checkpoint: Option<Duration>,
    /// The database file whose writes to watch; `None` to read the version
    /// every `poll` only.
    pub watch: Option<PathBuf>,
    /// How often the version is read while someone subscribes, notified
    /// or not ([`FALLBACK_POLL`] but in tests).
    pub poll: Duration,
}

/// The monitor thread of one store. Dropping this stops the thread and
/// waits for it to close its connection (at most the end of a checkpoint
/// in progress): the store's last connection to close is then a known
/// one, and SQLite, closing it, checkpoints the log and removes the `-wal`
/// and `-shm` files before the process exits.
pub(crate) struct Monitor {
    shared: Arc<Shared>,
    feed: ChangeFeed,
    thread: Option<thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

/// What the store and the thread share.
struct Shared {
    /// Written to wake the thread: someone subscribed, or it must stop.
    kick: EventFd,
    stopping: AtomicBool,
}

impl Shared {
    fn kick(&self) {
        if let Err(error) = self.kick.write(1) {
            tracing::warn!(%error, "cannot wake the monitor thread");
        }
    }
}

impl Monitor {
    /// Starts the thread, checkpointing and watching through `conn` as
    /// `settings` say.
    pub(crate) fn start(
        conn: impl MonitorConnection,
        settings: MonitorSettings,
    ) -> StoreResult<Monitor> {
        let kick =
            EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK).map_err(|e| {
                StoreError::database(format!("cannot create the monitor's eventfd: {e}"))
            })?;
        let shared = Arc::new(Shared {
            kick,
            stopping: AtomicBool::new(false),
        });
        let woken = Arc::clone(&shared);
        let feed = ChangeFeed::new(Some(Box::new(move || woken.kick())));
        let (based, baseline) = std::sync::mpsc::channel();
        let thread = {
            let (shared, feed) = (Arc::clone(&shared), feed.clone());
            thread::Builder::new()
                .name("jobstore-monitor".into())
                .spawn(move || Watch::new(conn, settings, shared, feed).run(based))
                .map_err(|e| {
                    StoreError::database(format!("cannot start the monitor thread: {e}"))
                })?
        };
        // The version changes are told relative to is read before the store
        // is handed out: else a commit between a subscriber's first read and
        // the thread's first look would be taken as the starting point, and
        // never told (a waiter with a long poll would wait for it in vain).
        // A thread that could not read it tells the first version it reads.
        // A thread that cannot read it within a few seconds (a file locked
        // for recovery) does not hold the open up longer.
        let _ = baseline.recv_timeout(Duration::from_secs(5));
        Ok(Monitor {
            shared,
            feed,
            thread: Some(thread),
        })
    }

    /// The store's change feed.
    pub(crate) fn feed(&self) -> ChangeFeed {
        self.feed.clone()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.kick();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("the monitor thread panicked");
            }
        }
    }
}

/// The thread's state.
struct Watch<C> {
    conn: C,
    settings: MonitorSettings,
    shared: Arc<Shared>,
    feed: ChangeFeed,
    /// inotify, and the directory and file names watched.
    notify: Option<Notify>,
    /// The version last told.
    version: Option<i64>,
    /// Whether a failure to checkpoint was logged already.
    checkpoint_failing: bool,
    /// A write was seen whose commit was not visible by the end of the
    /// look: the next look, when the watch is set again, waits for it too.
    unsettled: bool,
}

/// inotify on the database's directory.
struct Notify {
    inotify: Inotify,
    dir: PathBuf,
    /// The database file and its log, as the events name them.
    names: [OsString; 2],
    /// The watch, while someone subscribes.
    watching: Option<WatchDescriptor>,
}

impl Notify {
    fn new(file: &Path) -> Result<Notify, String> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| e.to_string())?;
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = file
            .file_name()
            .ok_or_else(|| format!("{} names no file", file.display()))?
            .to_os_string();
        let mut wal = name.clone();
        wal.push("-wal");
        Ok(Notify {
            inotify,
            dir,
            names: [name, wal],
            watching: None,
        })
    }

    /// Whether the events waiting include a write to the database or its
    /// log (and drains them). An event of the current watch means the
    /// one-shot watch has fired and is gone: it is set again by
    /// [`Watch::watch`].
    fn written(&mut self) -> bool {
        let mut written = false;
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            if events.iter().any(|e| Some(e.wd) == self.watching) {
                self.watching = None;
            }
            written |= events
                .iter()
                .any(|e| e.name.as_ref().is_some_and(|n| self.names.contains(n)));
        }
        written
    }
}

impl<C: MonitorConnection> Watch<C> {
    fn new(conn: C, settings: MonitorSettings, shared: Arc<Shared>, feed: ChangeFeed) -> Self {
        let notify = settings.watch.as_deref().and_then(|file| match Notify::new(file) {
            Ok(notify) => Some(notify),
            Err(error) => {
                tracing::warn!(%error, "cannot watch the database file; changes are seen by polling");
                None
            }
        });
        Watch {
            conn,
            settings,
            shared,
            feed,
            notify,
            version: None,
            checkpoint_failing: false,
            unsettled: false,
        }
    }

    fn run(mut self, based: std::sync::mpsc::Sender<()>) {
        // Changes are told relative to this, read before anyone can
        // subscribe: a subscriber may be told of a commit made before it
        // subscribed (it looks, and finds nothing new), never left untold
        // of one made after.
        self.version = self.conn.data_version().ok();
        let _ = based.send(());
        let mut next_checkpoint = self.settings.checkpoint.map(|every| Instant::now() + every);
        let mut next_poll = Instant::now();
        while !self.shared.stopping.load(Ordering::SeqCst) {
            let listening = self.feed.has_subscribers();
            self.watch(listening);
            let now = Instant::now();
            if listening && now >= next_poll {
                self.look(false);
                next_poll = now + self.settings.poll;
            }
            if let Some(at) = next_checkpoint.filter(|at| now >= *at) {
                self.checkpoint();
                next_checkpoint = self.settings.checkpoint.map(|every| at.max(now) + every);
            }
            let mut wake = next_checkpoint;
            if listening {
                wake = Some(wake.map_or(next_poll, |at| at.min(next_poll)));
            }
            let (kicked, written) = self.wait(wake);
            if kicked {
                let _ = self.shared.kick.read();
            }
            if written && self.feed.has_subscribers() {
                if self.look(true) {
                    // A burst of commits wakes the thread once per interval
                    // (the watch is not set again until it has passed).
                    thread::sleep(COALESCE);
                } else {
                    self.unsettled = true;
                }
            }
        }
    }

    /// Watches the directory while someone listens, and not otherwise; a
    /// watch that starts (or is set again after firing) reads the version
    /// at once (a commit may have come while nobody watched).
    fn watch(&mut self, listening: bool) {
        let Some(notify) = &mut self.notify else {
            return;
        };
        match (listening, notify.watching.is_some()) {
            (true, false) => {
                match notify.inotify.add_watch(
                    &notify.dir,
                    AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_ONESHOT,
                ) {
                    Ok(wd) => notify.watching = Some(wd),
                    Err(error) => {
                        tracing::warn!(%error, dir = %notify.dir.display(), "cannot watch the database's directory; changes are seen by polling");
                        self.notify = None;
                    }
                }
                let settling = std::mem::take(&mut self.unsettled);
                self.look(settling);
            }
            (false, true) => {
                if let Some(wd) = notify.watching.take() {
                    let _ = notify.inotify.rm_watch(wd);
                }
                notify.written();
            }
            _ => {}
        }
    }

    /// Sleeps until `until` (forever for `None`), woken early by a kick or
    /// a write; returns which of them woke it.
    fn wait(&mut self, until: Option<Instant>) -> (bool, bool) {
        let timeout = match until {
            Some(at) => {
                let ms = at.saturating_duration_since(Instant::now()).as_millis();
                PollTimeout::try_from(ms.min(60_000) as i32 + 1).unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let watching = self.notify.as_ref().filter(|n| n.watching.is_some());
        let mut fds = vec![PollFd::new(self.shared.kick.as_fd(), PollFlags::POLLIN)];
        if let Some(notify) = watching {
            fds.push(PollFd::new(notify.inotify.as_fd(), PollFlags::POLLIN));
        }
        if let Err(error) = poll(&mut fds, timeout) {
            if error != nix::errno::Errno::EINTR {
                tracing::warn!(%error, "the monitor cannot wait");
                thread::sleep(Duration::from_millis(10));
            }
            return (false, false);
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let kicked = ready(&fds[0]);
        let notified = fds.get(1).is_some_and(ready);
        drop(fds);
        let written = notified && self.notify.as_mut().is_some_and(Notify::written);
        (kicked, written)
    }

    /// Reads the version and tells the subscribers when it moved; after a
    /// write (`settling`), reads it again a moment later while it has not.
    /// Returns whether it told them.
    fn look(&mut self, settling: bool) -> bool {
        let pauses: &[Duration] = if settling { &SETTLE } else { &[] };
        let mut pauses = pauses.iter();
        loop {
            match self.conn.data_version() {
                Ok(version) if self.version != Some(version) => {
                    self.version = Some(version);
                    self.feed.notify();
                    return true;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot read the database's version");
                    return false;
                }
            }
            match pauses.next() {
                Some(pause) => thread::sleep(*pause),
                None => return false,
            }
        }
    }

    fn checkpoint(&mut self) {
        match self.conn.checkpoint() {
            Ok(()) => self.checkpoint_failing = false,
            Err(error) => {
                if !self.checkpoint_failing {
                    tracing::warn!(%error, "checkpointing the write-ahead log failed; will try again");
                }
                self.checkpoint_failing = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI64;

    /// A database whose version is a shared counter; the thread's first
    /// read of it comes late, as on a loaded machine.
    struct SlowToStart {
        version: Arc<AtomicI64>,
        reads: u32,
    }

    impl MonitorConnection for SlowToStart {
        fn checkpoint(&mut self) -> Result<(), String> {
            Ok(())
        }

        fn data_version(&mut self) -> Result<i64, String> {
            if self.reads == 0 {
                thread::sleep(Duration::from_millis(200));
            }
            self.reads += 1;
            Ok(self.version.load(Ordering::SeqCst))
        }
    }

    #[tokio::test]
    async fn a_commit_right_after_the_store_opens_is_told_however_late_the_thread_starts() {
        let version = Arc::new(AtomicI64::new(1));
        let conn = SlowToStart {
            version: Arc::clone(&version),
            reads: 0,
        };
        let settings = MonitorSettings {
            checkpoint: None,
            watch: None,
            poll: FALLBACK_POLL,
        };
        let monitor = Monitor::start(conn, settings).unwrap();
        // A waiter subscribes and reads; then another process commits.
        let mut changes = monitor.feed().subscribe();
        version.store(2, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(30), changes.changed())
            .await
            .expect("the commit after the store opened was never told");
    }

    /// A version that moves only when the test says so.
    struct Counter(Arc<AtomicI64>);

    impl MonitorConnection for Counter {
        fn checkpoint(&mut self) -> Result<(), String> {
            Ok(())
        }

        fn data_version(&mut self) -> Result<i64, String> {
            Ok(self.0.load(Ordering::SeqCst))
        }
    }

    #[tokio::test]
    async fn every_commit_of_a_burst_is_told_though_the_watch_fires_once_at_a_time() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jobs.db");
        let version = Arc::new(AtomicI64::new(1));
        let settings = MonitorSettings {
            checkpoint: None,
            watch: Some(file.clone()),
            // No fallback: only the watch can tell these commits.
            poll: Duration::from_secs(3_600),
        };
        let monitor = Monitor::start(Counter(Arc::clone(&version)), settings).unwrap();
        let mut changes = monitor.feed().subscribe();
        let mut wal = std::fs::File::create(dir.path().join("jobs.db-wal")).unwrap();
        // The watch may be set after the file was created: each round
        // writes until its commit is told.
        for commit in 2..=6 {
            version.store(commit, Ordering::SeqCst);
            let told = async {
                loop {
                    wal.write_all(b"frame").unwrap();
                    if tokio::time::timeout(Duration::from_millis(100), changes.changed())
                        .await
                        .is_ok()
                    {
                        return;
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(30), told)
                .await
                .unwrap_or_else(|_| panic!("commit {commit} was never told"));
        }
    }
}
