//! The claim: the oldest claimable jobs moved to running.
//!
//! Beyond being kept prepared (see [`super`]), the claim is written out
//! because Diesel's `LIMIT` is always a bound parameter, which SQLite
//! (since 3.47) plans around: every new value expires the statement and it
//! is compiled again on the next step. The limit is a `u32`, written into
//! the SQL as a number, so each claim size gets a statement of its own,
//! prepared once. The same SQL, with numbered parameters, is the libSQL
//! backend's claim (`store/libsql/queries.rs`).
//!
//! The returned columns are written out too, as one string: Diesel finds a
//! statement like this one by its SQL, so it writes the SQL on every call,
//! and walking the 21 columns of a [`JobRow`] selection (quoting each
//! name) cost more than writing the rest of the statement.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

use crate::store::sqlite::row::JobRow;

/// The columns of a [`JobRow`], in its order (a test checks them against
/// Diesel's own selection).
const RETURNED: &str = "id, job_type, status, stage, progress, params, result, error, \
     retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at, \
     cancel_requested, retry_of, correlation_id, created_at, updated_at, started_at, \
     completed_at";

/// Moves up to `limit` claimable jobs to running for `worker_id`, oldest
/// first, returning their rows.
pub(crate) struct ClaimStatement<'a> {
    pub worker_id: &'a str,
    pub lease_until: i64,
    pub now: i64,
    pub limit: u32,
    /// Only these types; `None` for every type.
    pub job_types: Option<&'a [String]>,
}

impl<'a> ClaimStatement<'a> {
    /// The claim for `worker_id`, at `now` (milliseconds).
    pub(crate) fn new(
        worker_id: &'a str,
        lease_until: i64,
        now: i64,
        limit: u32,
        job_types: Option<&'a [String]>,
    ) -> Self {
        ClaimStatement {
            worker_id,
            lease_until,
            now,
            limit,
            job_types,
        }
    }
}

impl QueryFragment<Sqlite> for ClaimStatement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("UPDATE jobs SET status = 'running', attempt = attempt + 1, locked_by = ");
        out.push_bind_param::<Text, _>(self.worker_id)?;
        out.push_sql(", lease_expires_at = ");
        out.push_bind_param::<BigInt, _>(&self.lease_until)?;
        out.push_sql(", started_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(
            ", stage = NULL, progress = NULL WHERE rowid IN (SELECT rowid FROM jobs \
             WHERE status = 'pending' AND run_at <= ",
        );
        out.push_bind_param::<BigInt, _>(&self.now)?;
        if let Some(types) = self.job_types {
            out.push_sql(" AND job_type IN (");
            for (i, job_type) in types.iter().enumerate() {
                if i > 0 {
                    out.push_sql(", ");
                }
                out.push_bind_param::<Text, _>(job_type)?;
            }
            out.push_sql(")");
        }
        out.push_sql(&format!(
            " ORDER BY run_at, id LIMIT {}) RETURNING {RETURNED}",
            self.limit
        ));
        Ok(())
    }
}

impl QueryId for ClaimStatement<'_> {
    type QueryId = ();
    // Keyed by SQL: the limit and the number of types change it.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for ClaimStatement<'_> {
    type SqlType = diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<JobRow, Sqlite>>;
}

impl<Conn> RunQueryDsl<Conn> for ClaimStatement<'_> {}

#[cfg(test)]
mod tests {
    use diesel::{QueryDsl, SelectableHelper};

    use super::*;
    use crate::schema::jobs;

    #[test]
    fn returns_the_columns_of_a_job_row_in_its_order() {
        let select = jobs::table.select(JobRow::as_select());
        let sql = diesel::debug_query::<Sqlite, _>(&select).to_string();
        let columns: Vec<String> = sql
            .trim_start_matches("SELECT ")
            .split(" FROM ")
            .next()
            .unwrap_or_default()
            .split(", ")
            .map(|column| column.replace("`jobs`.", "").replace('`', ""))
            .collect();
        let ours: Vec<&str> = RETURNED.split(", ").map(str::trim).collect();
        assert_eq!(columns.len(), 21, "{sql}");
        assert_eq!(ours, columns);
    }
}
