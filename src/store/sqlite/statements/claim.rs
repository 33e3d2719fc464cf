//! The claim: the oldest claimable jobs moved to running.
//!
//! Beyond being kept prepared (see [`super`]), the claim is written out
//! because Diesel's `LIMIT` is always a bound parameter, which SQLite
//! (since 3.47) plans around: every new value expires the statement and it
//! is compiled again on the next step. The limit is a `u32`, written into
//! the SQL as a number, so each claim size gets a statement of its own,
//! prepared once. The same SQL, with numbered parameters, is the libSQL
//! backend's claim (`store/libsql/queries.rs`).

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl, SelectableHelper};

use crate::store::sqlite::row::JobRow;

/// Moves up to `limit` claimable jobs to running for `worker_id`, oldest
/// first, returning their rows.
pub(crate) struct ClaimStatement<'a> {
    pub worker_id: &'a str,
    pub lease_until: i64,
    pub now: i64,
    pub limit: u32,
    /// Only these types; `None` for every type.
    pub job_types: Option<&'a [String]>,
    pub returning: diesel::dsl::AsSelect<JobRow, Sqlite>,
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
            returning: JobRow::as_select(),
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
            ", stage = NULL, progress = NULL WHERE id IN (SELECT id FROM jobs \
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
            " ORDER BY run_at, id LIMIT {}) RETURNING ",
            self.limit
        ));
        self.returning.walk_ast(out.reborrow())
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
