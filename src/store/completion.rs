//! Completions written together: a worker's group commit.

use crate::error::StoreError;
use crate::store::Lease;

/// A running job's result, written by
/// [`JobStore::complete_many`](crate::JobStore::complete_many) in one
/// transaction with others.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The lease of the attempt that produced the result.
    pub lease: Lease,
    /// The job's result.
    pub result: serde_json::Value,
}

impl Completion {
    /// The result of the attempt holding `lease`.
    pub fn new(lease: Lease, result: serde_json::Value) -> Self {
        Completion { lease, result }
    }
}

/// Whether `error`, met while writing one completion of a group, means the
/// transaction itself failed (so none of the group may be committed), as
/// opposed to a refusal of that one completion (its lease was lost, its job
/// is gone), which changed nothing and leaves the others to commit.
pub(crate) fn aborts_group(error: &StoreError) -> bool {
    !matches!(
        error,
        StoreError::LeaseLost { .. }
            | StoreError::NotFound(_)
            | StoreError::InvalidTransition { .. }
            | StoreError::InvalidInput(_)
    )
}
