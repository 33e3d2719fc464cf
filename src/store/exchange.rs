//! A worker's exchange with the store: finished jobs handed back and the
//! next ones taken, in one transaction.

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
