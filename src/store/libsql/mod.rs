//! The libSQL backend: a local libSQL file, or a libSQL server (Turso,
//! `sqld`) shared by workers on many machines.
//!
//! The schema comes from the same `migrations/` folder as the Diesel
//! backend, recorded in Diesel's own migrations table, so a database created
//! by either backend opens in the other. The statements are the Diesel
//! backend's too (`store::sql`): on a local file each operation's batch
//! runs in one transaction on a kept connection; against a server it is one
//! HTTP request, which the server runs without waiting for the client, so
//! no lock is held between requests.

mod config;
mod idle;
mod local;
mod migrate;
mod monitor_connection;
mod remote;
mod statements;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use libsql::{Builder, Database};

use crate::error::{StoreError, StoreResult};
use crate::store::sql::monitor::{Monitor, MonitorSettings, FALLBACK_POLL};
use crate::store::sql::store::delegate_to_sql;
use crate::store::sql::{Batch, Executor, Output, SqlStore};

pub use config::{LibsqlConfig, LibsqlLocation};

use idle::IdleConnections;
use local::LocalExecutor;
use remote::{HranaClient, RemoteExecutor, WriteQueue};

/// A [`JobStore`](crate::JobStore) on a libSQL database, local or remote.
#[derive(Clone)]
pub struct LibsqlStore {
    sql: SqlStore<Arc<LibsqlExecutor>>,
    location: LibsqlLocation,
    applied_on_open: Vec<String>,
    /// Checkpoints and watches a local file (see `SqliteConfig`); the last
    /// clone of the store to drop stops it. None for a server.
    monitor: Option<Arc<Monitor>>,
}

impl std::fmt::Debug for LibsqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibsqlStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// Where a [`LibsqlStore`]'s batches go.
pub(crate) enum LibsqlExecutor {
    /// A local file.
    Local(LocalExecutor),
    /// A libSQL server.
    Remote(Box<RemoteExecutor>),
}

#[async_trait]
impl Executor for LibsqlExecutor {
    async fn run(&self, batch: Batch) -> StoreResult<Vec<Output>> {
        match self {
            LibsqlExecutor::Local(local) => local.run(batch).await,
            LibsqlExecutor::Remote(remote) => remote.run(batch).await,
        }
    }

    fn has_file(&self) -> bool {
        matches!(self, LibsqlExecutor::Local(_))
    }
}

#[async_trait]
impl<E: Executor + ?Sized> Executor for Arc<E> {
    async fn run(&self, batch: Batch) -> StoreResult<Vec<Output>> {
        (**self).run(batch).await
    }

    fn has_file(&self) -> bool {
        (**self).has_file()
    }
}

/// A libSQL error as a store error.
pub(crate) fn db_error(error: libsql::Error) -> StoreError {
    StoreError::database_from(error)
}

/// Whether the database refused because another writer holds it (or a
/// server has too much to do for now).
fn is_busy(error: &StoreError) -> bool {
    // A libSQL server ends a transaction that waited too long for its write
    // lock with TRANSACTION_TIMEOUT, rolled back like a busy one.
    matches!(error, StoreError::Database { message, .. }
        if message.contains("SQLITE_BUSY")
            || message.contains("database is locked")
            || message.contains("TRANSACTION_TIMEOUT"))
}

/// Runs `attempt` again after a short jittered pause while it fails
/// because the database at `location` is busy, until `busy_timeout` has
/// passed; every attempt is bounded by `operation_timeout`, so a database
/// that stops answering is an error, not a hang. An attempt that failed
/// was rolled back, so nothing is applied twice.
pub(crate) async fn retry_busy<T, F, Fut>(
    location: &str,
    busy_timeout: Duration,
    operation_timeout: Duration,
    attempt: F,
) -> StoreResult<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let deadline = tokio::time::Instant::now() + busy_timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        let outcome = tokio::time::timeout(operation_timeout, attempt())
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::database(format!(
                    "{location} did not answer within {operation_timeout:?}"
                )))
            });
        match outcome {
            Err(error) if is_busy(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(pause.mul_f64(0.5 + fastrand::f64())).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => {
                return result.map_err(|e| crate::store::local_file::name_read_only(e, location))
            }
        }
    }
}

impl LibsqlStore {
    /// Opens (creating when missing) a local libSQL file with default
    /// settings, and applies pending migrations.
    pub async fn open_local(path: impl Into<std::path::PathBuf>) -> StoreResult<Self> {
        Self::open_with(LibsqlConfig::local(path)).await
    }

    /// Opens a remote libSQL database, and applies pending migrations.
    pub async fn open_remote(
        url: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> StoreResult<Self> {
        Self::open_with(LibsqlConfig::remote(url, auth_token)).await
    }

    /// Opens the database `config` describes, and applies pending
    /// migrations.
    pub async fn open_with(config: LibsqlConfig) -> StoreResult<Self> {
        let location = config.location.to_string();
        let open_error = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
            source: None,
        };
        // A database error while opening, as an open error naming the
        // database (keeping its source).
        let open_failed = |error: StoreError| match error {
            StoreError::Database { message, source } => StoreError::Open {
                location: location.clone(),
                reason: message,
                source,
            },
            other => other,
        };
        let (executor, monitor, applied) = match &config.location {
            LibsqlLocation::Local(path) => {
                crate::store::local_file::check_writable(path, &location)?;
                let db = open_local_file(path).await.map_err(&open_error)?;
                let settings = MonitorSettings {
                    checkpoint: config.checkpoint_interval,
                    watch: config.watch_changes.then(|| path.clone()),
                    poll: FALLBACK_POLL,
                };
                let monitor = Some(Arc::new(Monitor::start(
                    monitor_connection::open(&db, config.busy_timeout)?,
                    settings,
                )?));
                let local = LocalExecutor {
                    db: Arc::new(db),
                    idle: Arc::new(IdleConnections::default()),
                    writing: Arc::new(IdleConnections::default()),
                    write_turn: Arc::new(tokio::sync::Mutex::new(())),
                    busy_timeout: config.busy_timeout,
                    operation_timeout: config.operation_timeout,
                    monitored: config.checkpoint_interval.is_some(),
                    location: location.clone(),
                };
                let applied = open_local_schema(&local).await.map_err(open_failed)?;
                (LibsqlExecutor::Local(local), monitor, applied)
            }
            LibsqlLocation::Remote { url, auth_token } => {
                let client = HranaClient::new(url, auth_token, config.operation_timeout)
                    .map_err(&open_error)?;
                let applied = retry_busy(
                    &location,
                    config.busy_timeout,
                    config.operation_timeout,
                    || remote::migrate::run(&client, &location),
                )
                .await
                .map_err(open_failed)?;
                let remote = RemoteExecutor {
                    client,
                    busy_timeout: config.busy_timeout,
                    operation_timeout: config.operation_timeout,
                    location: location.clone(),
                    writes: WriteQueue::default(),
                };
                (LibsqlExecutor::Remote(Box::new(remote)), None, applied)
            }
        };
        Ok(LibsqlStore {
            sql: SqlStore::new(Arc::new(executor), config.clock),
            location: config.location,
            applied_on_open: applied,
            monitor,
        })
    }

    /// The migrations applied when this store was opened (empty when the
    /// database was already up to date).
    pub fn applied_on_open(&self) -> &[String] {
        &self.applied_on_open
    }

    /// How many HTTP requests this store (and its clones) sent to its
    /// server; `None` for a local file.
    pub fn requests_sent(&self) -> Option<u64> {
        match &**self.sql.executor() {
            LibsqlExecutor::Remote(remote) => Some(remote.client.requests_sent()),
            LibsqlExecutor::Local(_) => None,
        }
    }
}

delegate_to_sql!(LibsqlStore, sql, |store: &LibsqlStore| store
    .monitor
    .as_ref()
    .map(|monitor| monitor.feed()));

/// Opens the libSQL database handle of a local file.
async fn open_local_file(path: &std::path::Path) -> Result<Database, String> {
    // SAFETY: libsql asserts, on its first local open, that it set the
    // SQLite engine's threading mode before anyone else used the engine.
    // The Diesel backend shares that engine and may have opened it first;
    // the engine is compiled thread-safe (SQLITE_THREADSAFE=1, serialized by
    // default) and nothing in this crate changes the mode, so the assertion
    // is skipped.
    let builder = unsafe { Builder::new_local(path).skip_safety_assert(true) };
    builder.build().await.map_err(|e| e.to_string())
}

/// Puts a local file in WAL mode and applies pending migrations.
async fn open_local_schema(local: &LocalExecutor) -> StoreResult<Vec<String>> {
    let conn = local.connect().await?;
    // WAL is a property of the file: set once, kept by every connection.
    conn.query("PRAGMA journal_mode = WAL", ())
        .await
        .map_err(db_error)
        .map_err(|e| crate::store::local_file::name_read_only(e, &local.location))?;
    tokio::time::timeout(local.operation_timeout, migrate::run(&conn))
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::database(format!(
                "no answer within {:?}",
                local.operation_timeout
            )))
        })
        .map_err(|e| crate::store::local_file::name_read_only(e, &local.location))
}

#[cfg(test)]
mod tests;
