//! The embedded default backend: Diesel on a SQLite file.
//!
//! A deadpool of connections, each in WAL mode with `synchronous = NORMAL`,
//! a busy timeout and foreign keys; every write in a `BEGIN IMMEDIATE`
//! transaction, so a transaction never has to upgrade a read lock and fail
//! with `database is locked` half-way. The schema comes from the embedded
//! `migrations/`, applied on open. The write-ahead log is checkpointed by a
//! thread of the store's own rather than inside commits.

pub(crate) mod checkpoint;
mod config;
mod connection;
mod cron_queries;
pub(crate) mod cron_row;
mod manager;
pub(crate) mod migrate;
mod on_connection;
mod owned_pool;
mod queries;
pub(crate) mod row;
mod statements;
mod transactional;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::sqlite::SqliteConnection;

use crate::clock::SharedClock;
use crate::cron::{self, CronFiring, CronSchedule, NewCronSchedule};
use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, NewJob, Progress};
use crate::store::{
    rules, CancelOutcome, ClaimRequest, Claimed, Completion, CronStore, Exchange, FailOutcome,
    Failure, Heartbeat, JobPage, JobStore, Lease, ListQuery, RescueSummary, StatusCounts,
};
use crate::time;

use checkpoint::Checkpointer;
pub use config::SqliteConfig;
use owned_pool::OwnedPool;
pub use transactional::{enqueue_in, enqueue_many_in};

/// A [`JobStore`] on a SQLite file through Diesel.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Arc<OwnedPool>,
    clock: SharedClock,
    location: String,
    applied_on_open: Vec<String>,
    /// Stops when the last clone of the store is dropped. Declared after
    /// `pool` so that it is dropped after the pooled connections: its own
    /// connection closes last (see [`Checkpointer`]).
    _checkpointer: Option<Arc<Checkpointer>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
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
        let autocheckpoint = config
            .checkpoint_interval
            .map(|_| checkpoint::FALLBACK_AUTOCHECKPOINT);
        let pool = connection::pool(
            path,
            config.max_connections,
            config.busy_timeout,
            autocheckpoint,
        )?;
        let conn = pool.get().await.map_err(|e| {
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
        let checkpointer = match config.checkpoint_interval {
            Some(interval) => Some(Arc::new(
                Checkpointer::start(path, config.busy_timeout, interval)
                    .map_err(|e| open_error(e.to_string()))?,
            )),
            None => None,
        };
        Ok(SqliteStore {
            pool: Arc::new(OwnedPool::new(pool)),
            clock: config.clock,
            location,
            applied_on_open,
            _checkpointer: checkpointer,
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

    fn now(&self) -> DateTime<Utc> {
        time::truncate(self.clock.now())
    }

    /// Runs `f` on a pooled connection without blocking the runtime's other
    /// tasks (see [`on_connection`]).
    async fn with_conn<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut SqliteConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.pool.get().await.map_err(|e| {
            StoreError::Database(format!(
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

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&mut SqliteConnection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.with_conn(move |conn| conn.immediate_transaction(f))
            .await
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create(&self, job: NewJob) -> StoreResult<Job> {
        let prepared = rules::prepare(&job, self.now(), None)?;
        self.write(move |conn| {
            queries::insert(conn, std::slice::from_ref(&prepared))?;
            Ok(prepared.job)
        })
        .await
    }

    async fn create_many(&self, jobs: Vec<NewJob>) -> StoreResult<Vec<Job>> {
        let now = self.now();
        let prepared = jobs
            .iter()
            .map(|job| rules::prepare(job, now, None))
            .collect::<StoreResult<Vec<_>>>()?;
        self.write(move |conn| {
            queries::insert(conn, &prepared)?;
            Ok(prepared.into_iter().map(|p| p.job).collect())
        })
        .await
    }

    async fn get(&self, id: JobId) -> StoreResult<Job> {
        self.with_conn(move |conn| queries::find(conn, id)).await
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<JobPage> {
        let query = query.clone();
        self.with_conn(move |conn| queries::list(conn, &query))
            .await
    }

    async fn count_by_status(&self) -> StoreResult<StatusCounts> {
        self.with_conn(queries::count_by_status).await
    }

    async fn count_by_type(&self) -> StoreResult<BTreeMap<String, StatusCounts>> {
        self.with_conn(queries::count_by_type).await
    }

    async fn claim(&self, request: &ClaimRequest) -> StoreResult<Vec<Claimed>> {
        let request = request.clone();
        let now = self.now();
        self.write(move |conn| queries::claim(conn, &request, now))
            .await
    }

    async fn claim_job(
        &self,
        id: JobId,
        worker_id: &str,
        lease_duration: Duration,
    ) -> StoreResult<Claimed> {
        let (worker_id, now) = (worker_id.to_string(), self.now());
        self.write(move |conn| queries::claim_job(conn, id, &worker_id, lease_duration, now))
            .await
    }

    async fn heartbeat(&self, lease: &Lease, extend_by: Duration) -> StoreResult<Heartbeat> {
        let (lease, now) = (*lease, self.now());
        self.write(move |conn| queries::heartbeat(conn, &lease, now, extend_by))
            .await
    }

    async fn progress(&self, lease: &Lease, progress: &Progress) -> StoreResult<()> {
        progress.validate()?;
        let (lease, now, progress) = (*lease, self.now(), progress.clone());
        self.write(move |conn| queries::progress(conn, &lease, now, &progress))
            .await
    }

    async fn complete(&self, lease: &Lease, result: serde_json::Value) -> StoreResult<()> {
        let (lease, now) = (*lease, self.now());
        self.write(move |conn| queries::complete(conn, &lease, now, &result))
            .await
    }

    async fn complete_many(
        &self,
        completions: Vec<Completion>,
    ) -> StoreResult<Vec<StoreResult<()>>> {
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        self.write(move |conn| queries::complete_group(conn, &completions, now))
            .await
    }

    async fn complete_and_claim(
        &self,
        completions: Vec<Completion>,
        request: &ClaimRequest,
    ) -> StoreResult<Exchange> {
        rules::validate_claim(request)?;
        let (request, now) = (request.clone(), self.now());
        self.write(move |conn| {
            let completed = queries::complete_group(conn, &completions, now)?;
            let claimed = queries::claim(conn, &request, now)?;
            Ok(Exchange { completed, claimed })
        })
        .await
    }

    async fn fail(&self, lease: &Lease, failure: &Failure) -> StoreResult<FailOutcome> {
        let (lease, now, failure) = (*lease, self.now(), failure.clone());
        self.write(move |conn| queries::fail(conn, &lease, now, &failure))
            .await
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        let (lease, now) = (*lease, self.now());
        self.write(move |conn| queries::release(conn, &lease, now))
            .await
    }

    async fn mark_cancelled(&self, lease: &Lease) -> StoreResult<()> {
        let (lease, now) = (*lease, self.now());
        self.write(move |conn| queries::mark_cancelled(conn, &lease, now))
            .await
    }

    async fn cancel(&self, id: JobId) -> StoreResult<CancelOutcome> {
        let now = self.now();
        self.write(move |conn| queries::cancel(conn, id, now)).await
    }

    async fn rescue_expired(&self) -> StoreResult<RescueSummary> {
        let now = self.now();
        self.write(move |conn| queries::rescue_expired(conn, now))
            .await
    }

    async fn queue_position(&self, id: JobId) -> StoreResult<Option<u64>> {
        self.with_conn(move |conn| queries::queue_position(conn, id))
            .await
    }

    async fn retry(&self, id: JobId) -> StoreResult<Job> {
        let now = self.now();
        self.write(move |conn| queries::retry(conn, id, now)).await
    }
}

#[async_trait]
impl CronStore for SqliteStore {
    async fn declare_schedule(&self, schedule: &NewCronSchedule) -> StoreResult<CronSchedule> {
        schedule.validate()?;
        let (schedule, now) = (schedule.clone(), self.now());
        self.write(move |conn| {
            let existing = cron_queries::find(conn, schedule.name())?;
            let stored = cron::rules::declare(&schedule, existing, now)?;
            cron_queries::save(conn, &stored)?;
            Ok(stored)
        })
        .await
    }

    async fn get_schedule(&self, name: &str) -> StoreResult<CronSchedule> {
        let name = name.to_string();
        self.with_conn(move |conn| cron_queries::get(conn, &name))
            .await
    }

    async fn list_schedules(&self) -> StoreResult<Vec<CronSchedule>> {
        self.with_conn(cron_queries::list).await
    }

    async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> StoreResult<CronSchedule> {
        let (name, now) = (name.to_string(), self.now());
        self.write(move |conn| {
            let schedule = cron_queries::get(conn, &name)?;
            match cron::rules::set_enabled(&schedule, enabled, now)? {
                Some(changed) => {
                    cron_queries::save(conn, &changed)?;
                    Ok(changed)
                }
                None => Ok(schedule),
            }
        })
        .await
    }

    async fn delete_schedule(&self, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.write(move |conn| cron_queries::delete(conn, &name))
            .await
    }

    async fn fire_due_schedules(&self) -> StoreResult<CronFiring> {
        let now = self.now();
        // Read without a write lock: most passes find nothing due.
        let due = self
            .with_conn(move |conn| cron_queries::due(conn, now))
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
            let fired = fire.fired();
            let won = self
                .write(move |conn| cron_queries::fire(conn, &fire, now))
                .await?;
            if won {
                firing.fired.push(fired);
            }
        }
        firing.next_tick = self.with_conn(cron_queries::next_tick).await?;
        Ok(firing)
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::{BigInt, Text};
    use diesel::{sql_query, QueryableByName, RunQueryDsl};

    use super::*;

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_pooled_connection_gets_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let config = SqliteConfig::new(dir.path().join("p.db"))
            .max_connections(4)
            .busy_timeout(Duration::from_millis(12_345));
        let store = SqliteStore::open_with(config).await.unwrap();
        // Hold four connections at once so four distinct ones are read.
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(store.pool.get().await.unwrap());
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
