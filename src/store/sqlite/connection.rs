//! The connection pool, and the settings every pooled connection gets.

use std::time::Duration;

use deadpool::managed::{Hook, HookError, QueueMode};
use deadpool_diesel::sqlite::{Manager, PoolError, Runtime};
use deadpool_diesel::Connection as SyncConnection;
use diesel::connection::SimpleConnection;
use diesel::result::QueryResult;
use diesel::sqlite::SqliteConnection;

use super::manager::{LocalFileManager, Pool};
use crate::error::{StoreError, StoreResult};

/// Applies the per-connection settings: a busy timeout (set first, so the
/// others wait for a lock instead of failing), incremental auto-vacuum
/// on a new file (before its first table, so a prune can give freed pages
/// back; an older file takes it at a full vacuum), WAL,
/// `synchronous = NORMAL`
/// (durable across application crashes; WAL keeps the database consistent
/// across power loss) and foreign keys; and, when given, the number of
/// pages of log after which a commit checkpoints (SQLite's default: 1,000).
pub(crate) fn configure(
    conn: &mut SqliteConnection,
    busy_timeout: Duration,
    autocheckpoint: Option<u32>,
) -> QueryResult<()> {
    let busy_ms = busy_timeout.as_millis().min(i32::MAX as u128);
    conn.batch_execute(&format!("PRAGMA busy_timeout = {busy_ms};"))?;
    // On a file that already has pages the setting is a write (of page 1):
    // only a new file, before its first table, takes it.
    if page_count(conn)? == 0 {
        conn.batch_execute("PRAGMA auto_vacuum = INCREMENTAL;")?;
    }
    conn.batch_execute(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )?;
    match autocheckpoint {
        Some(pages) => conn.batch_execute(&format!("PRAGMA wal_autocheckpoint = {pages};")),
        None => Ok(()),
    }
}

/// Why a pooled connection could not be had, in the database's own words
/// where it gave some (e.g. "file is not a database").
pub(crate) fn pool_error_reason(error: PoolError) -> String {
    match error {
        PoolError::PostCreateHook(HookError::Message(message)) => message.into_owned(),
        PoolError::Backend(error) => error.to_string(),
        other => other.to_string(),
    }
}

/// A pool of connections to `path`, each configured by [`configure`] (with
/// `autocheckpoint`) when it is created. The most recently used connection
/// is handed out first: a connection whose page cache is current (nobody
/// else wrote since its last transaction) reads nothing back from the file.
pub(crate) fn pool(
    path: &str,
    max_size: usize,
    busy_timeout: Duration,
    autocheckpoint: Option<u32>,
) -> StoreResult<Pool> {
    // Checkouts run nothing on the connection (see `LocalFileManager`):
    // a local file does not go away, and the store checks for a dangling
    // transaction after each operation.
    let manager = LocalFileManager(Manager::new(path, Runtime::Tokio1));
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .queue_mode(QueueMode::Lifo)
        .post_create(Hook::async_fn(
            move |conn: &mut SyncConnection<SqliteConnection>, _| {
                Box::pin(async move {
                    conn.interact(move |conn| configure(conn, busy_timeout, autocheckpoint))
                        .await
                        .map_err(|e| HookError::message(format!("connection task failed: {e}")))?
                        .map_err(|e| HookError::message(e.to_string()))
                })
            },
        ))
        .build()
        .map_err(|e| StoreError::Config(format!("cannot build the connection pool: {e}")))
}

#[derive(diesel::QueryableByName)]
struct PageCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    page_count: i64,
}

/// How many pages the file has: 0 for a new one.
fn page_count(conn: &mut SqliteConnection) -> QueryResult<i64> {
    use diesel::RunQueryDsl;
    let rows: Vec<PageCount> = diesel::sql_query("PRAGMA page_count").load(conn)?;
    Ok(rows.first().map_or(0, |row| row.page_count))
}
