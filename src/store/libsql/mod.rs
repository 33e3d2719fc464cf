//! The libSQL backend: a local libSQL file, or a libSQL server (Turso,
//! `sqld`) shared by workers on many machines.
//!
//! The schema comes from the same `migrations/` folder as the Diesel
//! backend, recorded in Diesel's own migrations table, so a database created
//! by either backend opens in the other. Every write runs in an immediate
//! transaction; claims are one `UPDATE ... RETURNING` statement.

mod config;
mod cron_queries;
mod idle;
mod migrate;
mod queries;
mod row;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use libsql::{Builder, Connection, Database, Transaction, TransactionBehavior};

use crate::clock::SharedClock;
use crate::cron::{self, CronFiring, CronSchedule, NewCronSchedule};
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, NewJob, Progress};
use crate::store::{
    rules, CancelOutcome, ClaimRequest, Claimed, Completion, CronStore, Exchange, FailOutcome,
    Failure, Heartbeat, JobPage, JobStore, Lease, ListQuery, RescueSummary, StatusCounts,
};
use crate::time;

pub use config::{LibsqlConfig, LibsqlLocation};

use crate::store::sqlite::checkpoint::{Checkpointer, FALLBACK_AUTOCHECKPOINT};
use idle::{IdleConnections, Lent};

/// A [`JobStore`] on a libSQL database, local or remote.
#[derive(Clone)]
pub struct LibsqlStore {
    db: Arc<Database>,
    location: LibsqlLocation,
    busy_timeout: Duration,
    operation_timeout: Duration,
    /// Held by every write to a remote server: one write of this process
    /// in flight at a time (see [`LibsqlStore::retry_busy`]).
    remote_writes: Arc<tokio::sync::Mutex<()>>,
    /// Connections to a local file kept between operations.
    idle: Arc<IdleConnections>,
    clock: SharedClock,
    applied_on_open: Vec<String>,
    /// Checkpoints a local file's log (see `SqliteConfig::checkpoint_interval`);
    /// the last clone of the store to drop stops it.
    checkpointer: Option<Arc<Checkpointer>>,
}

impl std::fmt::Debug for LibsqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibsqlStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A libSQL error as a store error.
pub(crate) fn db_error(error: libsql::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

/// Whether the database refused because another writer holds it.
fn is_busy(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(message)
        if message.contains("SQLITE_BUSY") || message.contains("database is locked"))
}

/// Commits `tx` when `result` is `Ok`, rolls it back otherwise.
pub(crate) async fn finish<T>(tx: Transaction, result: StoreResult<T>) -> StoreResult<T> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(db_error)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(error)
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
        let location = config.location.clone();
        let open_error = |reason: String| StoreError::Open {
            location: location.to_string(),
            reason,
        };
        if let LibsqlLocation::Local(path) = &config.location {
            crate::store::local_file::check_writable(path, &location.to_string())?;
        }
        let db = build(&config.location).await.map_err(&open_error)?;
        let checkpointer = match (&config.location, config.checkpoint_interval) {
            (LibsqlLocation::Local(path), Some(interval)) => {
                start_checkpointer(path, config.busy_timeout, interval)?
            }
            _ => None,
        };
        let store = LibsqlStore {
            db: Arc::new(db),
            location: config.location,
            busy_timeout: config.busy_timeout,
            operation_timeout: config.operation_timeout,
            remote_writes: Arc::new(tokio::sync::Mutex::new(())),
            idle: Arc::new(IdleConnections::default()),
            clock: config.clock,
            applied_on_open: Vec::new(),
            checkpointer,
        };
        let conn = store
            .connect()
            .await
            .map_err(|e| open_error(e.to_string()))?;
        if let LibsqlLocation::Local(_) = store.location {
            // WAL is a property of the file: set once, kept by every connection.
            conn.query("PRAGMA journal_mode = WAL", ())
                .await
                .map_err(|e| store.name_read_only(open_error(e.to_string())))?;
        }
        let applied = tokio::time::timeout(store.operation_timeout, migrate::run(&conn))
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Database(format!(
                    "no answer within {:?}",
                    store.operation_timeout
                )))
            })
            .map_err(|e| match store.name_read_only(e) {
                StoreError::Database(reason) => open_error(reason),
                other => other,
            })?;
        Ok(LibsqlStore {
            applied_on_open: applied,
            ..store
        })
    }

    /// The migrations applied when this store was opened (empty when the
    /// database was already up to date).
    pub fn applied_on_open(&self) -> &[String] {
        &self.applied_on_open
    }

    fn now(&self) -> DateTime<Utc> {
        time::truncate(self.clock.now())
    }

    /// A connection of its own for one operation (connections share no
    /// transaction state): to a local file, an idle one when there is one,
    /// given back afterwards; to a server, a fresh one.
    async fn connect(&self) -> StoreResult<Lent> {
        let LibsqlLocation::Local(_) = self.location else {
            return Ok(Lent::new(self.db.connect().map_err(db_error)?, None));
        };
        let conn = match self.idle.take() {
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
                if self.checkpointer.is_some() {
                    // Checkpoints are the checkpoint thread's; a commit
                    // runs one only should that thread fall behind.
                    conn.query(
                        &format!("PRAGMA wal_autocheckpoint = {FALLBACK_AUTOCHECKPOINT}"),
                        (),
                    )
                    .await
                    .map_err(db_error)?;
                }
                conn
            }
        };
        Ok(Lent::new(conn, Some(Arc::clone(&self.idle))))
    }

    /// Runs `op` in an immediate (write) transaction on a fresh
    /// connection. When the database is busy (another writer holds it,
    /// which a libSQL server reports at once rather than waiting), the
    /// whole operation runs again after a short jittered pause, for up to
    /// the busy timeout: the transaction was rolled back, so nothing is
    /// applied twice.
    async fn write<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: Fn(Transaction) -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        self.retry_busy(|| async {
            let conn = self.connect().await?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .await
                .map_err(db_error)?;
            op(tx).await
        })
        .await
    }

    /// Runs `op`, whose one write is a single guarded statement, on a fresh
    /// connection in autocommit mode: the statement is atomic by itself, and
    /// a server holds no lock between round trips. Busy is retried as in
    /// [`LibsqlStore::write`].
    async fn statement<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        self.retry_busy(|| async {
            let conn = self.connect().await?;
            op(Connection::clone(&conn)).await
        })
        .await
    }

    /// Runs the read `op` on a fresh connection, bounded by the operation
    /// timeout.
    async fn read<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        let conn = self.connect().await?;
        tokio::time::timeout(self.operation_timeout, op(Connection::clone(&conn)))
            .await
            .unwrap_or_else(|_| Err(self.no_answer()))
    }

    /// SQLite's "attempt to write a readonly database" as a
    /// [`StoreError::ReadOnly`] naming this database.
    fn name_read_only(&self, error: StoreError) -> StoreError {
        crate::store::local_file::name_read_only(error, &self.location.to_string())
    }

    fn no_answer(&self) -> StoreError {
        StoreError::Database(format!(
            "{} did not answer within {:?}",
            self.location, self.operation_timeout
        ))
    }

    /// Runs `attempt` again after a short jittered pause while it fails
    /// because the database is busy, until the busy timeout has passed;
    /// every attempt is bounded by the operation timeout, so a server that
    /// stops answering is an error, not a hang. Writes to a remote server
    /// take turns within this process.
    async fn retry_busy<T, F, Fut>(&self, attempt: F) -> StoreResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        // A libSQL server (sqld) answers concurrent writers by spinning on
        // its write lock; writers of one process queue here instead.
        let _turn = match self.location {
            LibsqlLocation::Remote { .. } => Some(self.remote_writes.lock().await),
            LibsqlLocation::Local(_) => None,
        };
        let deadline = tokio::time::Instant::now() + self.busy_timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            let outcome = tokio::time::timeout(self.operation_timeout, attempt())
                .await
                .unwrap_or_else(|_| Err(self.no_answer()));
            match outcome {
                Err(error) if is_busy(&error) && tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(pause.mul_f64(0.5 + fastrand::f64())).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                result => return result.map_err(|e| self.name_read_only(e)),
            }
        }
    }
}

/// The libSQL database handle for `location`.
/// The checkpoint thread of a local file: the Diesel backend's, on a
/// connection of its own through the same SQLite engine (libSQL's). A path
/// that is not UTF-8 (which that connection cannot name) keeps SQLite's
/// checkpoints inside commits.
fn start_checkpointer(
    path: &std::path::Path,
    busy_timeout: Duration,
    interval: Duration,
) -> StoreResult<Option<Arc<Checkpointer>>> {
    let Some(path) = path.to_str() else {
        tracing::warn!(path = %path.display(), "not UTF-8: the log is checkpointed by commits");
        return Ok(None);
    };
    Ok(Some(Arc::new(Checkpointer::start(
        path,
        busy_timeout,
        interval,
    )?)))
}

async fn build(location: &LibsqlLocation) -> Result<Database, String> {
    match location {
        LibsqlLocation::Local(path) => {
            // SAFETY: libsql asserts, on its first local open, that it set
            // the SQLite engine's threading mode before anyone else used the
            // engine. The Diesel backend shares that engine and may have
            // opened it first; the engine is compiled thread-safe
            // (SQLITE_THREADSAFE=1, serialized by default) and nothing in
            // this crate changes the mode, so the assertion is skipped.
            let builder = unsafe { Builder::new_local(path).skip_safety_assert(true) };
            builder.build().await.map_err(|e| e.to_string())
        }
        LibsqlLocation::Remote { url, auth_token } => {
            let scheme_ok = ["libsql://", "https://", "http://"]
                .iter()
                .any(|scheme| url.starts_with(scheme));
            if !scheme_ok {
                return Err("expected a libsql://, https:// or http:// URL".into());
            }
            let builder = Builder::new_remote(url.clone(), auth_token.clone());
            let builder = if url.starts_with("http://") {
                builder.connector(hyper::client::HttpConnector::new())
            } else {
                builder
            };
            builder.build().await.map_err(|e| e.to_string())
        }
    }
}

#[async_trait]
impl JobStore for LibsqlStore {
    async fn create(&self, job: NewJob) -> StoreResult<Job> {
        let prepared = rules::prepare(&job, self.now(), None)?;
        let rows = std::slice::from_ref(&prepared);
        self.statement(|conn| async move { queries::insert(&conn, rows).await })
            .await?;
        Ok(prepared.job)
    }

    async fn create_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Job>> {
        let now = self.now();
        let prepared = jobs
            .iter()
            .map(|job| rules::prepare(job, now, None))
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = prepared.as_slice();
        self.write(|tx| async move {
            let result = queries::insert(&tx, rows).await;
            finish(tx, result).await
        })
        .await?;
        Ok(prepared.into_iter().map(|p| p.job).collect())
    }

    async fn get(&self, id: JobId) -> StoreResult<Job> {
        self.read(|conn| async move { queries::find(&conn, id).await })
            .await
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<JobPage> {
        self.read(|conn| async move { queries::list(&conn, query).await })
            .await
    }

    async fn count_by_status(&self) -> StoreResult<StatusCounts> {
        self.read(|conn| async move { queries::count_by_status(&conn).await })
            .await
    }

    async fn count_by_type(&self) -> StoreResult<BTreeMap<String, StatusCounts>> {
        self.read(|conn| async move { queries::count_by_type(&conn).await })
            .await
    }

    async fn claim(&self, request: &ClaimRequest) -> StoreResult<Vec<Claimed>> {
        rules::validate_claim(request)?;
        self.statement(|conn| async move { queries::claim(&conn, request, self.now()).await })
            .await
    }

    async fn claim_job(
        &self,
        id: JobId,
        worker_id: &str,
        lease_duration: Duration,
    ) -> StoreResult<Claimed> {
        rules::validate_lease_holder(worker_id, lease_duration)?;
        self.statement(|conn| async move {
            queries::claim_job(&conn, id, worker_id, lease_duration, self.now()).await
        })
        .await
    }

    async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> StoreResult<Heartbeat> {
        self.statement(|conn| async move {
            queries::heartbeat(&conn, lease, self.now(), extend_by).await
        })
        .await
    }

    async fn progress(&self, lease: &Lease, progress: &Progress) -> StoreResult<()> {
        progress.validate()?;
        self.statement(
            |conn| async move { queries::progress(&conn, lease, self.now(), progress).await },
        )
        .await
    }

    async fn complete(&self, lease: &Lease, result: serde_json::Value) -> StoreResult<()> {
        let output = &result;
        self.statement(
            |conn| async move { queries::complete(&conn, lease, self.now(), output).await },
        )
        .await
    }

    async fn complete_many(
        &self,
        completions: Vec<Completion>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        let completions = &completions;
        self.write(|tx| async move {
            let result = queries::complete_group(&tx, completions, self.now()).await;
            finish(tx, result).await
        })
        .await
    }

    async fn complete_and_claim(
        &self,
        completions: Vec<Completion>,
        request: &ClaimRequest,
    ) -> StoreResult<Exchange> {
        rules::validate_claim(request)?;
        let completions = &completions;
        self.write(|tx| async move {
            let now = self.now();
            let result = async {
                let completed = queries::complete_group(&tx, completions, now).await?;
                let claimed = queries::claim(&tx, request, now).await?;
                Ok(Exchange { completed, claimed })
            }
            .await;
            finish(tx, result).await
        })
        .await
    }

    async fn fail(&self, lease: &Lease, failure: &Failure) -> StoreResult<FailOutcome> {
        self.write(|tx| async move {
            let result = queries::fail(&tx, lease, self.now(), failure).await;
            finish(tx, result).await
        })
        .await
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        self.statement(|conn| async move { queries::release(&conn, lease, self.now()).await })
            .await
    }

    async fn mark_cancelled(&self, lease: &Lease) -> StoreResult<()> {
        self.statement(
            |conn| async move { queries::mark_cancelled(&conn, lease, self.now()).await },
        )
        .await
    }

    async fn cancel(&self, id: JobId) -> StoreResult<CancelOutcome> {
        self.write(|tx| async move {
            let result = queries::cancel(&tx, id, self.now()).await;
            finish(tx, result).await
        })
        .await
    }

    async fn rescue_expired(&self) -> StoreResult<RescueSummary> {
        self.write(|tx| async move {
            let result = queries::rescue_expired(&tx, self.now()).await;
            finish(tx, result).await
        })
        .await
    }

    async fn queue_position(&self, id: JobId) -> StoreResult<Option<u64>> {
        self.read(|conn| async move { queries::queue_position(&conn, id).await })
            .await
    }

    async fn retry(&self, id: JobId) -> StoreResult<Job> {
        self.write(|tx| async move {
            let result = queries::retry(&tx, id, self.now()).await;
            finish(tx, result).await
        })
        .await
    }
}

#[async_trait]
impl CronStore for LibsqlStore {
    async fn declare_schedule(&self, schedule: &NewCronSchedule) -> StoreResult<CronSchedule> {
        schedule.validate()?;
        self.write(|tx| async move {
            let result = async {
                let existing = cron_queries::find(&tx, schedule.name()).await?;
                let stored = cron::rules::declare(schedule, existing, self.now())?;
                cron_queries::save(&tx, &stored).await?;
                Ok(stored)
            }
            .await;
            finish(tx, result).await
        })
        .await
    }

    async fn get_schedule(&self, name: &str) -> StoreResult<CronSchedule> {
        self.read(|conn| async move { cron_queries::get(&conn, name).await })
            .await
    }

    async fn list_schedules(&self) -> StoreResult<Vec<CronSchedule>> {
        self.read(|conn| async move { cron_queries::list(&conn).await })
            .await
    }

    async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> StoreResult<CronSchedule> {
        self.write(|tx| async move {
            let result = async {
                let schedule = cron_queries::get(&tx, name).await?;
                match cron::rules::set_enabled(&schedule, enabled, self.now())? {
                    Some(changed) => {
                        cron_queries::save(&tx, &changed).await?;
                        Ok(changed)
                    }
                    None => Ok(schedule),
                }
            }
            .await;
            finish(tx, result).await
        })
        .await
    }

    async fn delete_schedule(&self, name: &str) -> StoreResult<()> {
        self.statement(|conn| async move { cron_queries::delete(&conn, name).await })
            .await
    }

    async fn fire_due_schedules(&self) -> StoreResult<CronFiring> {
        let now = self.now();
        // Read without a write lock: most passes find nothing due.
        let due = self
            .read(|conn| async move { cron_queries::due(&conn, now).await })
            .await?;
        let mut firing = CronFiring::default();
        for schedule in due {
            let fire = match cron::rules::fire(&schedule, now) {
                Ok(fire) => fire,
                Err(error) => {
                    firing.skipped.push(format!("{}: {error}", schedule.name));
                    continue;
                }
            };
            let fire = &fire;
            let won = self
                .write(|tx| async move {
                    let result = cron_queries::fire(&tx, fire, now).await;
                    finish(tx, result).await
                })
                .await?;
            if won {
                firing.fired.push(fire.fired());
            }
        }
        firing.next_tick = self
            .read(|conn| async move { cron_queries::next_tick(&conn).await })
            .await?;
        Ok(firing)
    }
}

#[cfg(test)]
mod tests;
