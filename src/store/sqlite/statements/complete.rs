//! A completion, guarded by its lease.

use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Integer, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

/// Completes the job `id` with `result` if attempt `attempt` still holds
/// it; changes one row or none.
pub(crate) struct CompleteStatement<'a> {
    pub id: &'a str,
    pub attempt: i32,
    pub result: &'a str,
    pub now: i64,
}

impl QueryFragment<Sqlite> for CompleteStatement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("UPDATE jobs SET status = 'completed', result = ");
        out.push_bind_param::<Text, _>(self.result)?;
        out.push_sql(", locked_by = NULL, lease_expires_at = NULL, updated_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", completed_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(self.id)?;
        out.push_sql(" AND status = 'running' AND attempt = ");
        out.push_bind_param::<Integer, _>(&self.attempt)?;
        Ok(())
    }
}

/// The completion's key in the statement cache: its SQL never changes, so
/// it is found by type, without writing the SQL out again on every call.
pub(crate) struct CompleteStatementId;

impl QueryId for CompleteStatement<'_> {
    type QueryId = CompleteStatementId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn> RunQueryDsl<Conn> for CompleteStatement<'_> {}
