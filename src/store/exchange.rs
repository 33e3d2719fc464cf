//! A worker's exchange with the store: finished jobs handed back and the
//! next ones taken, in one transaction.

use chrono::{DateTime, Utc};

use crate::error::StoreResult;
use crate::store::Claimed;

/// What [`JobStore::complete_and_claim`](crate::JobStore::complete_and_claim)
/// did in its one transaction.
#[derive(Debug)]
pub struct Exchange {
    /// Each completion's outcome, in the order given: a refused completion
    /// (its lease was lost, its job is gone) changed nothing.
    pub completed: Vec<StoreResult<()>>,
    /// The jobs claimed, oldest first.
    pub claimed: Vec<Claimed>,
}

/// What else a worker's poll found to do besides claiming, read in the
/// same round trip (see [`JobStore::poll`](crate::JobStore::poll)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chores {
    /// Whether some running job's lease has expired: worth a
    /// [`rescue_expired`](crate::JobStore::rescue_expired).
    pub expired_leases: bool,
    /// The earliest tick any enabled cron schedule waits for: due when it
    /// is not in the future (worth a
    /// [`fire_due_schedules`](crate::CronStore::fire_due_schedules)).
    pub next_tick: Option<DateTime<Utc>>,
    /// When the earliest pending job becomes claimable (in the past when
    /// one is claimable now): an idle worker sleeps until then.
    pub next_due: Option<DateTime<Utc>>,
}

impl Chores {
    /// Chores as a store that cannot tell reports them: both worth doing.
    pub fn unknown() -> Self {
        Chores {
            expired_leases: true,
            next_tick: Some(DateTime::<Utc>::MIN_UTC),
            next_due: None,
        }
    }
}

/// What [`JobStore::poll`](crate::JobStore::poll) did and found.
#[derive(Debug)]
pub struct Polled {
    /// The completions written and the jobs claimed.
    pub exchange: Exchange,
    /// What else needs doing.
    pub chores: Chores,
}
