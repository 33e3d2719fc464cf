//! Keeping the leases of running attempts: one heartbeat for all of them.
//!
//! A worker (or a client running jobs inline) holds many leases at once.
//! Instead of a heartbeat per attempt, one task extends every lease it
//! keeps with a single [`JobStore::heartbeat_many`] call per heartbeat
//! interval (one statement, or one request to a server), and tells each
//! attempt when its job was asked to stop or its lease was lost. With no
//! lease to keep it sends nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::store::{JobStore, Lease};

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

/// Extends every kept lease once per interval, until the keeper is gone.
async fn beat(keeper: Weak<Inner>) {
    let Some(interval) = keeper.upgrade().map(|inner| inner.interval) else {
        return;
    };
    let mut next = Instant::now() + interval;
    loop {
        tokio::time::sleep_until(next).await;
        next += interval;
        let Some(inner) = keeper.upgrade() else {
            return;
        };
        let keeper = LeaseKeeper(inner);
        let leases = keeper.leases();
        if leases.is_empty() {
            continue;
        }
        match keeper.0.store.heartbeat_many(&leases, keeper.0.lease).await {
            Ok(beats) => {
                for (lease, beat) in leases.iter().zip(beats) {
                    match beat {
                        Ok(beat) if beat.cancel_requested => {
                            keeper.tell(lease, Signal::CancelRequested)
                        }
                        Ok(_) => {}
                        Err(error) if error.is_lease_lost() || is_gone(&error) => {
                            tracing::warn!(job_id = %lease.job_id, %error, "heartbeat refused: the lease was lost");
                            keeper.tell(lease, Signal::LeaseLost);
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
        // A beat that took longer than the interval is followed at once,
        // not by a burst of the beats it missed.
        next = next.max(Instant::now());
    }
}

fn is_gone(error: &crate::StoreError) -> bool {
    matches!(error, crate::StoreError::NotFound(_))
}
