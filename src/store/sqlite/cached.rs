//! Writes whose prepared statements the connection keeps.
//!
//! Diesel never keeps an `UPDATE` in its statement cache (a `SET` clause can
//! take countless shapes), so SQLite would parse and plan the worker's
//! completion and claim on every call: a third of a busy worker's CPU time
//! went there. These statements have one shape each (the claim one per
//! limit and type filter), so they are cached, keyed by their SQL.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

/// A Diesel statement of one fixed shape, which the connection may keep
/// prepared.
#[derive(Debug, Clone)]
pub(crate) struct Cached<Q>(pub Q);

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Cached<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Sqlite) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Cached<Q> {
    type QueryId = ();
    // Keyed by SQL, not by type: the same type may write different SQL.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Cached<Q> {}
