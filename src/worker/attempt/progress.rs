//! Writing a running job's progress without writing every report.
//!
//! A handler may report progress far more often than anyone can watch it
//! (every percent of a fast loop). The first report is written at once;
//! reports within [`WINDOW`] of the last write wait, and only the latest of
//! them is written when the window ends: the latest stage and percent win.
//! When the attempt ends, a report still waiting is written before its
//! outcome, so the final one is always stored. Writes go out one at a
//! time, in order.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::{StoreError, StoreResult};
use crate::job::Progress;
use crate::store::{JobStore, Lease};

/// The shortest time between two progress writes of one attempt.
pub(crate) const WINDOW: Duration = Duration::from_millis(250);

/// The progress reports of one attempt; clones share them.
#[derive(Clone)]
pub(crate) struct ProgressReports(Arc<Inner>);

struct Inner {
    store: Arc<dyn JobStore>,
    lease: Lease,
    state: Mutex<State>,
    /// Held by each write, so writes go out in order.
    writing: tokio::sync::Mutex<()>,
    /// Notified when a report starts waiting.
    waiting: Notify,
}

#[derive(Default)]
struct State {
    /// When the last write started.
    last_write: Option<Instant>,
    /// The latest report not yet written.
    pending: Option<Progress>,
    /// Why a deferred write failed; told at the next report.
    failed: Option<StoreError>,
}

impl ProgressReports {
    /// The reports of the attempt holding `lease`.
    pub(crate) fn new(store: Arc<dyn JobStore>, lease: Lease) -> Self {
        ProgressReports(Arc::new(Inner {
            store,
            lease,
            state: Mutex::new(State::default()),
            writing: tokio::sync::Mutex::new(()),
            waiting: Notify::new(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding the lock.
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reports `progress` (already checked): written now, or, within the
    /// window of the last write, when the window ends. An error is the
    /// write's own, or that of a deferred write that failed since.
    pub(crate) async fn report(&self, progress: Progress) -> StoreResult<()> {
        {
            let mut state = self.state();
            if let Some(error) = state.failed.take() {
                return Err(error);
            }
            let now = Instant::now();
            if state
                .last_write
                .is_some_and(|last| now.duration_since(last) < WINDOW)
            {
                state.pending = Some(progress);
                drop(state);
                self.0.waiting.notify_one();
                return Ok(());
            }
            state.last_write = Some(now);
            state.pending = None;
        }
        let _turn = self.0.writing.lock().await;
        self.0.store.progress(&self.0.lease, &progress).await
    }

    /// When the report waiting now is due, if one is.
    pub(crate) fn due(&self) -> Option<Instant> {
        let state = self.state();
        match (&state.pending, state.last_write) {
            (Some(_), Some(last)) => Some(last + WINDOW),
            (Some(_), None) => Some(Instant::now()),
            (None, _) => None,
        }
    }

    /// Completes when a report starts waiting.
    pub(crate) async fn waiting(&self) {
        self.0.waiting.notified().await
    }

    /// Writes the report waiting, if any, now; a failure is kept for the
    /// next report (and logged when no report follows).
    pub(crate) async fn flush(&self) {
        {
            // Never reported: nothing waits and nothing is being written
            // (most jobs report nothing; the write turn costs a lock).
            let state = self.state();
            if state.last_write.is_none() && state.pending.is_none() {
                return;
            }
        }
        let _turn = self.0.writing.lock().await;
        let progress = {
            let mut state = self.state();
            state.last_write = Some(Instant::now());
            state.pending.take()
        };
        let Some(progress) = progress else {
            return;
        };
        if let Err(error) = self.0.store.progress(&self.0.lease, &progress).await {
            tracing::debug!(%error, "a deferred progress report was not written");
            self.state().failed = Some(error);
        }
    }
}
