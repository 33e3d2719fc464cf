//! The embedded default backend: Diesel on a SQLite file.
//!
//! A deadpool of connections, each in WAL mode with `synchronous = NORMAL`,
//! a busy timeout and foreign keys; every write in a `BEGIN IMMEDIATE`
//! transaction, so a transaction never has to upgrade a read lock and fail
//! with `database is locked` half-way. The schema comes from the embedded
//! `migrations/`, applied on open. The write-ahead log is checkpointed by a
//! thread of the store's own rather than inside commits.

mod config;
mod connection;
mod dynamic;
mod executor;
mod manager;
pub(crate) mod migrate;
mod monitor_connection;
mod on_connection;
mod owned_pool;
#[cfg(test)]
mod plans;
mod transactional;

use std::path::Path;
use std::sync::Arc;

use crate::error::{StoreError, StoreResult};
use crate::store::sql::monitor::{
    Monitor, MonitorSettings, FALLBACK_AUTOCHECKPOINT, FALLBACK_POLL,
};
use crate::store::sql::store::delegate_to_sql;
use crate::store::sql::SqlStore;

pub use config::SqliteConfig;
pub(crate) use executor::DieselExecutor;
use owned_pool::OwnedPool;
pub use transactional::{enqueue_in, enqueue_many_in};

/// A [`JobStore`](crate::JobStore) on a SQLite file through Diesel.
#[derive(Clone)]
pub struct SqliteStore {
    sql: SqlStore<DieselExecutor>,
    applied_on_open: Vec<String>,
    /// Checkpoints and watches the file; stops when the last clone of the
    /// store is dropped. Declared after `sql` (which holds the pool) so
    /// that it is dropped after the pooled connections: its own connection
    /// closes last (see [`Monitor`]).
    monitor: Arc<Monitor>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.sql.executor().location)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` with default
    /// settings, and applies pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(SqliteConfig::new(path.as_ref())).await
    }

    /// Opens the database described by `config`, and applies pending
    /// migrations.
    pub async fn open_with(config: SqliteConfig) -> StoreResult<Self> {
        let location = config.path.display().to_string();
        let open_error = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
            source: None,
        };
        let path = config
            .path
            .to_str()
            .ok_or_else(|| open_error("the path is not valid UTF-8".into()))?;
        if path.is_empty() || path == ":memory:" || path.starts_with("file::memory:") {
            return Err(open_error(
                "an in-memory SQLite database is not shared between pooled connections; use MemoryStore".into(),
            ));
        }
        crate::store::local_file::check_writable(&config.path, &location)?;
        let autocheckpoint = config.checkpoint_interval.map(|_| FALLBACK_AUTOCHECKPOINT);
        let pool = |size| connection::pool(path, size, config.busy_timeout, autocheckpoint);
        let (writer, readers) = (pool(1)?, pool(config.max_connections.saturating_sub(1))?);
        let conn = writer.get().await.map_err(|e| {
            crate::store::local_file::name_read_only(
                open_error(connection::pool_error_reason(e)),
                &location,
            )
        })?;
        let applied_on_open = conn
            .interact(migrate::run)
            .await
            .map_err(|e| open_error(format!("connection task failed: {e}")))?
            .map_err(|e| crate::store::local_file::name_read_only(e, &location))?;
        drop(conn);
        let monitor = {
            let conn = monitor_connection::open(path, config.busy_timeout)
                .map_err(|e| open_error(e.to_string()))?;
            let settings = MonitorSettings {
                checkpoint: config.checkpoint_interval,
                watch: config.watch_changes.then(|| config.path.clone()),
                poll: FALLBACK_POLL,
            };
            Arc::new(Monitor::start(conn, settings).map_err(|e| open_error(e.to_string()))?)
        };
        let executor = DieselExecutor {
            writer: Arc::new(OwnedPool::new(writer)),
            readers: Arc::new(OwnedPool::new(readers)),
            location,
        };
        Ok(SqliteStore {
            sql: SqlStore::new(executor, config.clock),
            applied_on_open,
            monitor,
        })
    }

    /// The migrations applied when this store was opened (empty when the
    /// database was already up to date).
    pub fn applied_on_open(&self) -> &[String] {
        &self.applied_on_open
    }

    /// The names of every migration this binary carries, oldest first.
    pub fn known_migrations() -> StoreResult<Vec<String>> {
        Ok(migrate::known()?
            .into_iter()
            .map(|(_, name)| name)
            .collect())
    }

    /// Runs `f` on a pooled connection (tests read what the store wrote).
    #[cfg(test)]
    pub(crate) async fn with_conn<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut diesel::SqliteConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.sql.executor().with_conn(f).await
    }
}

delegate_to_sql!(SqliteStore, sql, |store: &SqliteStore| Some(
    store.monitor.feed()
));

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::sql_types::{BigInt, Text};
    use diesel::{sql_query, QueryableByName, RunQueryDsl};

    use super::*;
    use crate::store::JobStore;

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Pragmas {
        #[diesel(sql_type = Text)]
        journal_mode: String,
        #[diesel(sql_type = BigInt)]
        synchronous: i64,
        #[diesel(sql_type = BigInt)]
        busy_timeout: i64,
        #[diesel(sql_type = BigInt)]
        foreign_keys: i64,
    }

    /// Rows changed so far through `conn` (SQLite's `total_changes()`).
    async fn changes_through(conn: &manager::Connection) -> i64 {
        conn.interact(|conn| {
            sql_query("SELECT total_changes() AS n")
                .get_result::<Changes>(conn)
                .map(|c| c.n)
        })
        .await
        .unwrap()
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_go_through_the_writing_connection_and_reads_do_not_queue_behind_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("w.db")).await.unwrap();
        let writer = &store.sql.executor().writer;
        let opened = changes_through(&writer.get().await.unwrap()).await;
        let job = store
            .create(crate::NewJob::new("t", serde_json::json!({})))
            .await
            .unwrap();
        let held = writer.get().await.unwrap();
        let enqueued = changes_through(&held).await;
        assert!(
            enqueued > opened,
            "the enqueue was not written through the writer"
        );
        // While something holds the writing connection, reads still get a
        // connection of their own (the wait is a generous bound on a read
        // that would otherwise never start).
        let read = tokio::time::timeout(Duration::from_secs(60), store.get(job.id)).await;
        assert_eq!(read.unwrap().unwrap().id, job.id);
        // A write goes through once the writing connection is given back.
        let write = tokio::spawn({
            let store = store.clone();
            async move { store.cancel(job.id).await }
        });
        drop(held);
        write.await.unwrap().unwrap();
        assert_eq!(
            store.get(job.id).await.unwrap().status,
            crate::JobStatus::Cancelled
        );
        let cancelled = changes_through(&writer.get().await.unwrap()).await;
        assert!(
            cancelled > enqueued,
            "the cancel was not written through the writer"
        );
    }

    #[derive(QueryableByName)]
    struct Changes {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_pooled_connection_gets_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let config = SqliteConfig::new(dir.path().join("p.db"))
            .max_connections(4)
            .busy_timeout(Duration::from_millis(12_345));
        let store = SqliteStore::open_with(config).await.unwrap();
        // Hold every connection at once (the writer and three readers) so
        // four distinct ones are read.
        let executor = store.sql.executor();
        let mut held = vec![executor.writer.get().await.unwrap()];
        for _ in 0..3 {
            held.push(executor.readers.get().await.unwrap());
        }
        for conn in &held {
            let pragmas = conn
                .interact(|conn| {
                    sql_query(
                        "SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal_mode,
                                (SELECT synchronous FROM pragma_synchronous) AS synchronous,
                                (SELECT timeout FROM pragma_busy_timeout) AS busy_timeout,
                                (SELECT foreign_keys FROM pragma_foreign_keys) AS foreign_keys",
                    )
                    .get_result::<Pragmas>(conn)
                })
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                pragmas,
                Pragmas {
                    journal_mode: "wal".into(),
                    synchronous: 1, // NORMAL
                    busy_timeout: 12_345,
                    foreign_keys: 1,
                }
            );
        }
    }
}
