//! Actions on every job a filter matches, and what they did.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// What to do to every job a [`JobFilter`](crate::JobFilter) matches.
/// Each job is changed entirely or not at all, all of them in one
/// transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    /// Creates a new job retrying each failed or cancelled job that has
    /// not been retried yet (as [`JobStore::retry`](crate::JobStore::retry)
    /// does for one), so running the same bulk retry twice retries each
    /// job once. Other jobs are skipped.
    Retry,
    /// Cancels each pending job and asks the worker of each running one to
    /// stop it (as [`JobStore::cancel`](crate::JobStore::cancel) does for
    /// one). Finished jobs, and running ones already asked, are skipped.
    Cancel,
    /// Deletes each job that is not running (a running job's worker still
    /// holds it: cancel it first). Running jobs are skipped.
    Delete,
}

impl BulkAction {
    /// Every action.
    pub const ALL: [BulkAction; 3] = [BulkAction::Retry, BulkAction::Cancel, BulkAction::Delete];

    /// The action's name.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Retry => "retry",
            BulkAction::Cancel => "cancel",
            BulkAction::Delete => "delete",
        }
    }
}

impl fmt::Display for BulkAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BulkAction {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BulkAction::ALL
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or_else(|| {
                StoreError::InvalidInput(format!(
                    "unknown action {s:?}; expected retry, cancel or delete"
                ))
            })
    }
}

/// What a bulk action did to the jobs its filter matched (or, for a
/// preview, would do to them now).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// The action.
    pub action: BulkAction,
    /// Whether nothing was changed: the counts say what the action would
    /// do now.
    pub dry_run: bool,
    /// Jobs the filter matched.
    pub matched: u64,
    /// Jobs retried (each by a new job), cancelled or deleted.
    pub applied: u64,
    /// Running jobs whose worker was asked to stop them (cancel only).
    pub requested: u64,
    /// Matched jobs the action does not apply to.
    pub skipped: u64,
}

impl BulkOutcome {
    /// The outcome from the counts a store read or wrote.
    pub(crate) fn new(
        action: BulkAction,
        dry_run: bool,
        matched: u64,
        applied: u64,
        requested: u64,
    ) -> Self {
        BulkOutcome {
            action,
            dry_run,
            matched,
            applied,
            requested,
            skipped: matched.saturating_sub(applied + requested),
        }
    }
}

impl fmt::Display for BulkOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (done, would) = match self.action {
            BulkAction::Retry => ("retried", "would retry"),
            BulkAction::Cancel => ("cancelled", "would cancel"),
            BulkAction::Delete => ("deleted", "would delete"),
        };
        let verb = if self.dry_run { would } else { done };
        write!(f, "{} matched; {verb} {}", jobs(self.matched), self.applied)?;
        if self.action == BulkAction::Cancel {
            let asked = if self.dry_run { "would ask" } else { "asked" };
            write!(f, ", {asked} {} running to stop", self.requested)?;
        }
        write!(f, ", skipped {}", self.skipped)
    }
}

fn jobs(n: u64) -> String {
    if n == 1 {
        "1 job".to_string()
    } else {
        format!("{n} jobs")
    }
}
