//! Keeping the leases of running attempts: one heartbeat for all of them.
//!
//! A worker (or a client running jobs inline) holds many leases at once.
//! Instead of a heartbeat per attempt, one task extends every lease it
//! keeps with a single [`JobStore::heartbeat_many`] call per heartbeat
//! interval (one statement, or one request to a server), and tells each
//! attempt when its job was asked to stop or its lease was lost. With no
//! lease to keep it sends nothing.
//!
//! On a store with a change feed (a local file), the task also listens for
//! commits while it keeps leases, and asks at most every
//! [`CANCEL_CHECK_GAP`] whether a cancel was requested for one of its jobs
//! (a read of those jobs by key): a cancel from any process reaches its job
//! within milliseconds instead of at the next heartbeat, which stays the
//! way it is noticed against a server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use crate::store::{Changes, JobStore, Lease};

/// The shortest time between two checks for cancel requests prompted by
/// commits: a worker busy committing does not read its jobs at every one.
pub(crate) const CANCEL_CHECK_GAP: Duration = Duration::from_millis(5);

/// What the keeper tells an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Someone asked to cancel the job.
    CancelRequested,
    /// The lease no longer holds the job (rescued, or the job is gone).
    LeaseLost,
}

/// The heartbeats of one worker's (or client's) running attempts; clones
/// share them.
#[derive(Clone)]
pub(crate) struct LeaseKeeper(Arc<Inner>);

struct Inner {
    store: Arc<dyn JobStore>,
    interval: Duration,
    lease: Duration,
    held: Mutex<Held>,
    /// Notified when a lease starts being kept while the task is not
    /// listening for commits yet.
    kept: Notify,
    /// Whether the task listens for commits (or the store has none to
    /// tell): a new lease then needs nothing of it.
    listening: AtomicBool,
}

#[derive(Default)]
struct Held {
    leases: HashMap<Lease, oneshot::Sender<Signal>>,
    /// Whether the task that beats runs.
    beating: bool,
}

impl LeaseKeeper {
    /// A keeper that extends leases by `lease` every `interval`.
    pub(crate) fn new(store: Arc<dyn JobStore>, interval: Duration, lease: Duration) -> Self {
        LeaseKeeper(Arc::new(Inner {
            store,
            interval,
            lease,
            held: Mutex::new(Held::default()),
            kept: Notify::new(),
            listening: AtomicBool::new(false),
        }))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        // Nothing panics while holding the lock.
        self.0.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `lease` until the returned handle is dropped; the handle
    /// receives the keeper's signal for it, if any.
    pub(crate) fn keep(&self, lease: Lease) -> Kept {
        let (tell, signal) = oneshot::channel();
        let start = {
            let mut held = self.held();
            held.leases.insert(lease, tell);
            !std::mem::replace(&mut held.beating, true)
        };
        if start {
            tokio::spawn(beat(Arc::downgrade(&self.0)));
        }
        if !self.0.listening.load(Ordering::SeqCst) {
            self.0.kept.notify_one();
        }
        Kept {
            keeper: self.clone(),
            lease,
            signal,
        }
    }

    /// The leases kept now.
    pub(crate) fn leases(&self) -> Vec<Lease> {
        self.held().leases.keys().copied().collect()
    }

    /// Tells the attempt holding `lease`, if it is still kept.
    pub(crate) fn tell(&self, lease: &Lease, signal: Signal) {
        if let Some(tell) = self.held().leases.remove(lease) {
            // The attempt may have ended meanwhile.
            let _ = tell.send(signal);
        }
    }
}

/// A lease being kept, and the signal the keeper may send about it.
pub(crate) struct Kept {
    keeper: LeaseKeeper,
    lease: Lease,
    signal: oneshot::Receiver<Signal>,
}

impl Kept {
    /// Waits for the keeper's signal (forever when none comes).
    pub(crate) async fn signal(&mut self) -> Signal {
        match (&mut self.signal).await {
            Ok(signal) => signal,
            // The keeper dropped the lease without a word: only when the
            // lease was given up, which this handle would have done.
            Err(_) => std::future::pending().await,
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.keeper.held().leases.remove(&self.lease);
    }
}

/// Extends every kept lease once per interval, and looks for cancel
/// requests when the store tells of a commit, until the keeper is gone.
async fn beat(keeper: Weak<Inner>) {
    let Some(interval) = keeper.upgrade().map(|inner| inner.interval) else {
        return;
    };
    let mut next = Instant::now() + interval;
    let mut changes: Option<Changes> = None;
    let mut last_check = Instant::now();
    loop {
        let Some(inner) = keeper.upgrade() else {
            return;
        };
        let keeper_now = LeaseKeeper(inner);
        let keeping = !keeper_now.held().leases.is_empty();
        // Commits matter only while leases are kept.
        let listening = keeper_now.0.listening.load(Ordering::Acquire);
        match (keeping, listening) {
            (true, false) => {
                changes = keeper_now.0.store.changes().map(|feed| feed.subscribe());
                keeper_now.0.listening.store(true, Ordering::Release);
                if changes.is_some() {
                    // A cancel may have come before the subscription.
                    keeper_now.check_cancels().await;
                    last_check = Instant::now();
                }
            }
            (false, true) => {
                changes = None;
                keeper_now.0.listening.store(false, Ordering::SeqCst);
                // A lease kept meanwhile saw the task still listening.
                if !keeper_now.held().leases.is_empty() {
                    continue;
                }
            }
            _ => {}
        }
        let kept = Arc::clone(&keeper_now.0);
        drop(keeper_now);
        let commit = tokio::select! {
            _ = tokio::time::sleep_until(next) => false,
            _ = kept.kept.notified() => continue,
            _ = next_change(&mut changes) => true,
        };
        drop(kept);
        let Some(inner) = keeper.upgrade() else {
            return;
        };
        let keeper_now = LeaseKeeper(inner);
        if commit {
            let since = last_check.elapsed();
            if since < CANCEL_CHECK_GAP {
                tokio::time::sleep(CANCEL_CHECK_GAP - since).await;
            }
            keeper_now.check_cancels().await;
            last_check = Instant::now();
            continue;
        }
        next += interval;
        keeper_now.beat_all().await;
        // A beat that took longer than the interval is followed at once,
        // not by a burst of the beats it missed.
        next = next.max(Instant::now());
    }
}

impl LeaseKeeper {
    /// Extends every lease kept, telling the attempts whose job was asked
    /// to stop or whose lease was lost.
    async fn beat_all(&self) {
        let leases = self.leases();
        if leases.is_empty() {
            return;
        }
        match self.0.store.heartbeat_many(&leases, self.0.lease).await {
            Ok(beats) => {
                for (lease, beat) in leases.iter().zip(beats) {
                    match beat {
                        Ok(beat) if beat.cancel_requested => {
                            self.tell(lease, Signal::CancelRequested)
                        }
                        Ok(_) => {}
                        Err(error) if error.is_lease_lost() || is_gone(&error) => {
                            tracing::warn!(job_id = %lease.job_id, %error, "heartbeat refused: the lease was lost");
                            self.tell(lease, Signal::LeaseLost);
                        }
                        Err(error) => {
                            tracing::warn!(job_id = %lease.job_id, %error, "heartbeat failed; will try again")
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, leases = leases.len(), "heartbeat failed; will try again")
            }
        }
    }

    /// Tells the attempts whose job was asked to stop.
    async fn check_cancels(&self) {
        let leases = self.leases();
        if leases.is_empty() {
            return;
        }
        match self.0.store.cancel_requested(&leases).await {
            Ok(requested) => {
                for lease in requested {
                    self.tell(&lease, Signal::CancelRequested);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read cancel requests; the heartbeat will tell")
            }
        }
    }
}

/// The next commit the feed tells of (never, without a feed).
async fn next_change(changes: &mut Option<Changes>) {
    match changes {
        Some(changes) => changes.changed().await,
        None => std::future::pending().await,
    }
}

fn is_gone(error: &crate::StoreError) -> bool {
    matches!(error, crate::StoreError::NotFound(_))
}
