//! The worker's hot writes, as statements the connection keeps prepared.
//!
//! Diesel never keeps an `UPDATE` in its statement cache (a `SET` clause
//! can take countless shapes), so SQLite would parse and plan the claim and
//! the completion on every call: a third of a busy worker's CPU time went
//! there. These have one shape each (the claim one per limit and type
//! filter), walk no part that opts out of caching, and so are kept, keyed
//! by their SQL. Rows come back through the same [`JobRow`](super::row::JobRow)
//! as everywhere else.

mod claim;
mod complete;

pub(crate) use claim::ClaimStatement;
pub(crate) use complete::CompleteStatement;
