//! Enqueueing through the caller's own Diesel connection, so a job exists
//! if and only if the caller's transaction commits.

use diesel::sqlite::SqliteConnection;

use super::executor::run_all;
use crate::error::{StoreError, StoreResult};
use crate::job::{prepare, Job, NewJob};
use crate::store::sql::{create, Outputs};

/// Inserts `job` through `conn`, inside whatever transaction the caller has
/// open: if that transaction rolls back, the job was never enqueued. A job
/// whose unique key another job holds inside its scope is not inserted:
/// the answer is that job (see [`JobStore::enqueue`](crate::JobStore::enqueue)).
///
/// The connection must be to a database migrated by
/// [`SqliteStore::open`](super::SqliteStore::open). Time is read from the
/// system clock.
///
/// ```no_run
/// use diesel::{Connection, SqliteConnection};
/// use jobstore::{store::sqlite::enqueue_in, NewJob, StoreError};
///
/// # fn main() -> Result<(), StoreError> {
/// let mut conn = SqliteConnection::establish("jobstore.db")
///     .map_err(|e| StoreError::database(e.to_string()))?;
/// conn.transaction::<_, StoreError, _>(|conn| {
///     // ... the caller's own writes ...
///     enqueue_in(conn, NewJob::new("send_receipt", serde_json::json!({ "order": 42 })))?;
///     Ok(())
/// })?;
/// # Ok(())
/// # }
/// ```
pub fn enqueue_in(conn: &mut SqliteConnection, job: NewJob) -> StoreResult<Job> {
    enqueue_many_in(conn, vec![job])?
        .pop()
        .ok_or_else(|| StoreError::database("the insert returned no job"))
}

/// Inserts many jobs through `conn`, inside the caller's transaction, as
/// [`JobStore::enqueue_many`](crate::JobStore::enqueue_many) does (a job
/// whose unique key is held answers with its holder).
pub fn enqueue_many_in(conn: &mut SqliteConnection, jobs: Vec<NewJob>) -> StoreResult<Vec<Job>> {
    let now = crate::time::truncate(chrono::Utc::now());
    let prepared = jobs
        .iter()
        .map(|job| prepare(job, now, None))
        .collect::<StoreResult<Vec<_>>>()?;
    let outputs = run_all(conn, &create::enqueue(&prepared, now).statements)?;
    let enqueued = create::enqueued(prepared, Outputs::new(outputs))?;
    Ok(enqueued.into_iter().map(|e| e.job).collect())
}
