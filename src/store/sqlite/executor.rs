//! Running the shared statements' batches on the pool's connections.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};

use super::dynamic::{BySql, Complete, DynRow, Dynamic, Keyed};
use super::owned_pool::OwnedPool;
use super::{connection, on_connection};
use crate::error::{StoreError, StoreResult};
use crate::store::sql::batch::Fixed;
use crate::store::sql::{Batch, Executor, Output, Row, Statement};

/// Runs batches on Diesel connections to one file: every write on the one
/// writing connection, reads on a pool of their own.
///
/// SQLite lets one connection write at a time anyway; keeping writes on
/// one connection keeps its page cache current (no other connection of
/// this process writes), where writes spread over a pool found the cache
/// of whichever connection came next stale after another's commit, read
/// the changed pages back, and held a page cache per connection in the
/// writing thread's memory.
#[derive(Clone)]
pub(crate) struct DieselExecutor {
    /// The writing connection (a pool of one).
    pub(super) writer: Arc<OwnedPool>,
    /// The reading connections.
    pub(super) readers: Arc<OwnedPool>,
    /// The file, for messages.
    pub(super) location: String,
}

impl std::fmt::Debug for DieselExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselExecutor")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl DieselExecutor {
    /// Runs `f` on the writing connection without blocking the runtime's
    /// other tasks (see [`on_connection`]).
    pub(crate) async fn with_conn<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut SqliteConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.on(&self.writer, f).await
    }

    /// Runs `f`, which only reads, on a reading connection.
    pub(crate) async fn with_reader<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut SqliteConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.on(&self.readers, f).await
    }

    async fn on<T, F>(&self, pool: &OwnedPool, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut SqliteConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let conn = pool.get().await.map_err(|e| {
            StoreError::database(format!(
                "no database connection: {}",
                connection::pool_error_reason(e)
            ))
        })?;
        let ran = on_connection::run(&conn, f).await;
        if ran.broken {
            tracing::warn!(path = %self.location, "discarding a connection left unusable by an operation");
            drop(deadpool::managed::Object::take(conn));
        }
        ran.result
            .map_err(|e| crate::store::local_file::name_read_only(e, &self.location))
    }
}

#[async_trait]
impl Executor for DieselExecutor {
    async fn run(&self, batch: Batch) -> StoreResult<Vec<Output>> {
        if batch.writes {
            self.with_conn(move |conn| run_batch(conn, &batch)).await
        } else {
            self.with_reader(move |conn| run_batch(conn, &batch)).await
        }
    }

    fn has_file(&self) -> bool {
        true
    }
}

/// Runs `batch` on `conn`: a write in a `BEGIN IMMEDIATE` transaction (so it
/// never has to upgrade a read lock half-way), several reads in one
/// transaction (one snapshot), a single read as it is.
pub(crate) fn run_batch(conn: &mut SqliteConnection, batch: &Batch) -> StoreResult<Vec<Output>> {
    if batch.writes {
        conn.immediate_transaction(|conn| run_all(conn, &batch.statements))
    } else if batch.needs_transaction() {
        conn.transaction(|conn| run_all(conn, &batch.statements))
    } else {
        run_all(conn, &batch.statements)
    }
}

/// Runs `statements` in order, wherever the caller's transaction stands.
pub(crate) fn run_all(
    conn: &mut SqliteConnection,
    statements: &[Statement],
) -> StoreResult<Vec<Output>> {
    statements
        .iter()
        .map(|statement| run_one(conn, statement))
        .collect()
}

fn run_one(conn: &mut SqliteConnection, statement: &Statement) -> StoreResult<Output> {
    match statement.fixed {
        Some(Fixed::Complete) => run_keyed::<Complete>(conn, statement),
        None => run_keyed::<BySql>(conn, statement),
    }
}

fn run_keyed<K: Keyed>(conn: &mut SqliteConnection, statement: &Statement) -> StoreResult<Output> {
    let query = Dynamic::<K>::new(statement);
    if statement.returns_rows {
        let rows: Vec<Row> = query
            .load::<DynRow>(conn)?
            .into_iter()
            .map(|row| row.0)
            .collect();
        Ok(Output {
            changes: rows.len() as u64,
            rows,
        })
    } else {
        let changes = query.execute(conn)?;
        Ok(Output {
            rows: Vec::new(),
            changes: changes as u64,
        })
    }
}
