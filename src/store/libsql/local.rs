//! Running the shared statements' batches on a local libSQL file.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use libsql::{Connection, Database, TransactionBehavior};

use super::idle::{IdleConnections, Kept, Lent};
use super::statements::StatementCache;
use super::{db_error, retry_busy};
use crate::error::StoreResult;
use crate::store::sql::monitor::FALLBACK_AUTOCHECKPOINT;
use crate::store::sql::{Batch, Executor, Output, Row, Statement, Value};

/// Runs batches on connections to one local file, kept between batches:
/// writes one at a time on a connection of their own, reads on the others.
///
/// SQLite lets one connection write at a time anyway; keeping writes on
/// one connection keeps its page cache current, where writes lent any idle
/// connection found its cache stale after another's commit (and held a
/// page cache per connection in the writing thread's memory).
pub(crate) struct LocalExecutor {
    pub(super) db: Arc<Database>,
    /// Idle reading connections.
    pub(super) idle: Arc<IdleConnections>,
    /// The writing connection when idle.
    pub(super) writing: Arc<IdleConnections>,
    /// Held by the write in progress.
    pub(super) write_turn: Arc<tokio::sync::Mutex<()>>,
    pub(super) busy_timeout: Duration,
    pub(super) operation_timeout: Duration,
    /// Whether the store's monitor checkpoints the log (commits then do so
    /// only as a fallback).
    pub(super) monitored: bool,
    /// The file, for messages.
    pub(super) location: String,
}

impl LocalExecutor {
    /// A reading connection for one batch: an idle one when there is one,
    /// given back afterwards.
    pub(super) async fn connect(&self) -> StoreResult<Lent> {
        self.connect_from(&self.idle).await
    }

    /// A connection from `home` (a new one when none is idle), given back
    /// to it afterwards.
    async fn connect_from(&self, home: &Arc<IdleConnections>) -> StoreResult<Lent> {
        let conn = match home.take() {
            Some(conn) => conn,
            None => {
                let conn = self.db.connect().map_err(db_error)?;
                conn.busy_timeout(self.busy_timeout).map_err(db_error)?;
                // As the Diesel backend: in WAL mode a commit is durable
                // across a crash of the process without a sync of its own
                // (FULL, the default, syncs the log on every commit).
                conn.execute("PRAGMA synchronous = NORMAL", ())
                    .await
                    .map_err(db_error)?;
                // A new file takes incremental auto-vacuum before its first
                // table (so a prune can give freed pages back); on a file
                // that has pages the setting is a write, so it is not asked.
                let mut pages = conn
                    .query("PRAGMA page_count", ())
                    .await
                    .map_err(db_error)?;
                let new_file = match pages.next().await.map_err(db_error)? {
                    Some(row) => row.get::<i64>(0).map_err(db_error)? == 0,
                    None => false,
                };
                drop(pages);
                if new_file {
                    conn.execute("PRAGMA auto_vacuum = INCREMENTAL", ())
                        .await
                        .map_err(db_error)?;
                }
                if self.monitored {
                    conn.query(
                        &format!("PRAGMA wal_autocheckpoint = {FALLBACK_AUTOCHECKPOINT}"),
                        (),
                    )
                    .await
                    .map_err(db_error)?;
                }
                Kept::new(conn)
            }
        };
        Ok(Lent::new(conn, Some(Arc::clone(home))))
    }

    async fn run_once(&self, batch: &Batch) -> StoreResult<Vec<Output>> {
        // Declared first, so dropped last: the writing connection is given
        // back before the next write may take it.
        let (_turn, home) = if batch.writes {
            (Some(self.write_turn.lock().await), &self.writing)
        } else {
            (None, &self.idle)
        };
        let mut conn = self.connect_from(home).await?;
        if !batch.writes && !batch.needs_transaction() {
            let (conn, statements) = conn.parts();
            return run_all(conn, statements, &batch.statements).await;
        }
        let behavior = if batch.writes {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = conn
            .transaction_with_behavior(behavior)
            .await
            .map_err(db_error)?;
        let (conn, statements) = conn.parts();
        match run_all(conn, statements, &batch.statements).await {
            Ok(outputs) => {
                tx.commit().await.map_err(db_error)?;
                Ok(outputs)
            }
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(error)
            }
        }
    }
}

#[async_trait]
impl Executor for LocalExecutor {
    async fn run(&self, batch: Batch) -> StoreResult<Vec<Output>> {
        retry_busy(
            &self.location,
            self.busy_timeout,
            self.operation_timeout,
            || self.run_once(&batch),
        )
        .await
    }

    fn has_file(&self) -> bool {
        true
    }
}

fn to_libsql(value: &Value) -> libsql::Value {
    match value {
        Value::Null => libsql::Value::Null,
        Value::Integer(n) => libsql::Value::Integer(*n),
        Value::Real(x) => libsql::Value::Real(*x),
        Value::Text(s) => libsql::Value::Text(s.clone()),
        Value::Blob(b) => libsql::Value::Blob(b.clone()),
    }
}

fn from_libsql(value: libsql::Value) -> Value {
    match value {
        libsql::Value::Null => Value::Null,
        libsql::Value::Integer(n) => Value::Integer(n),
        libsql::Value::Real(x) => Value::Real(x),
        libsql::Value::Text(s) => Value::Text(s),
        libsql::Value::Blob(b) => Value::Blob(b),
    }
}

/// Runs `statements` in order on `conn`, wherever its transaction stands,
/// through the prepared statements it keeps.
async fn run_all(
    conn: &Connection,
    cache: &mut StatementCache,
    statements: &[Statement],
) -> StoreResult<Vec<Output>> {
    let mut outputs = Vec::with_capacity(statements.len());
    for statement in statements {
        let output = run_one(conn, cache, statement).await;
        if output.is_err() {
            cache.forget(&statement.sql);
        }
        outputs.push(output?);
    }
    Ok(outputs)
}

/// Runs one statement with its parameters, and resets it.
async fn run_one(
    conn: &Connection,
    cache: &mut StatementCache,
    statement: &Statement,
) -> StoreResult<Output> {
    let params: Vec<libsql::Value> = statement.params.iter().map(to_libsql).collect();
    let prepared = cache
        .statement(conn, &statement.sql)
        .await
        .map_err(db_error)?;
    let output = if statement.returns_rows {
        let mut rows = prepared.query(params).await.map_err(db_error)?;
        let columns = rows.column_count();
        let mut read = Vec::new();
        while let Some(row) = rows.next().await.map_err(db_error)? {
            let mut values = Vec::with_capacity(usize::try_from(columns).unwrap_or(0));
            for index in 0..columns {
                values.push(from_libsql(row.get_value(index).map_err(db_error)?));
            }
            read.push(Row(values));
        }
        Output {
            changes: read.len() as u64,
            rows: read,
        }
    } else {
        let changes = prepared.execute(params).await.map_err(db_error)?;
        Output {
            rows: Vec::new(),
            changes: changes as u64,
        }
    };
    // A statement left mid-way would hold its read snapshot open.
    prepared.reset();
    Ok(output)
}
