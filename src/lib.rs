//! jobstore: a durable job queue for Rust services.
//!
//! Jobs live in a database behind the [`JobStore`] trait, with three
//! backends: embedded SQLite through Diesel, the default
//! ([`SqliteStore`]); libSQL, on a local file or a remote server such as
//! `sqld` or Turso (`LibsqlStore`, feature `libsql`); and memory, for tests
//! ([`MemoryStore`]). Workers claim jobs atomically in FIFO order under a
//! lease, report a stage and (when they can measure it) a percent, and
//! finish them; a rescuer returns the jobs of dead workers to the queue.
//!
//! ```
//! use jobstore::{ClaimRequest, JobStore, NewJob, Progress, SqliteStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), jobstore::StoreError> {
//! # let dir = tempfile::tempdir().map_err(|e| jobstore::StoreError::Config(e.to_string()))?;
//! # let path = dir.path().join("jobstore.db");
//! let store = SqliteStore::open(&path).await?;
//!
//! // A producer enqueues a job.
//! let job = store
//!     .create(NewJob::new("resize_image", serde_json::json!({ "width": 640 })))
//!     .await?;
//! assert_eq!(store.queue_position(job.id).await?, Some(0));
//!
//! // A worker claims it, reports progress, and completes it.
//! let claimed = store.claim(&ClaimRequest::new("worker-1", 10)).await?;
//! let lease = claimed[0].lease;
//! store.progress(&lease, &Progress::percent("resizing", 50.0)).await?;
//! store.progress(&lease, &Progress::indeterminate("uploading")).await?;
//! store.complete(&lease, serde_json::json!({ "bytes": 1234 })).await?;
//!
//! let done = store.get(job.id).await?;
//! assert_eq!(done.status, jobstore::JobStatus::Completed);
//! assert_eq!(done.stage.as_deref(), Some("uploading"));
//! assert_eq!(done.progress, None); // the last stage could not measure progress
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! Each folder is one concern, and imports only folders listed above it:
//!
//! - [`job`]: what a job is ([`Job`], [`NewJob`], [`Progress`]) and the
//!   checks a new job passes before it is stored.
//! - [`cron`]: schedules and their expressions.
//! - [`store`]: the [`JobStore`] trait, the rules every backend shares,
//!   the SQL the SQL backends share (`store/sql`), and the backends
//!   themselves (`store/sqlite`, `store/libsql`, `store/memory.rs`), plus
//!   the change feed that wakes waiters on a local file.
//! - [`worker`]: claiming, running, heartbeating and finishing jobs; one
//!   attempt's machinery lives in `worker/attempt`.
//! - [`exec`]: the `exec` job type's child processes.
//! - [`client`]: enqueueing, and running a job inline, from an application.
//! - [`metrics`]: counters and gauges around any store.
//! - `http` (feature `http`): the API, the dashboard and `/metrics`.
//! - `cli` (feature `cli`): the `jobstore` binary's commands.
//!
//! Features: `libsql`, `http` and `cli` are on by default; with
//! `default-features = false` the crate is Diesel + SQLite, memory,
//! workers, cron and the client.

// The SQLite engine itself (libSQL's build), which Diesel calls through
// libsqlite3-sys's bindings: named here so that it is linked whether or
// not anything else of libSQL's is.
extern crate libsql_ffi as _;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod client;
pub mod clock;
pub mod cron;
pub mod error;
pub mod exec;
#[cfg(feature = "http")]
pub mod http;
pub mod job;
pub mod metrics;
// What `diesel print-schema` makes of the migrations (CI checks that they
// agree); the stores do not use it, and it is not part of the API.
#[allow(dead_code, unused_imports)]
mod schema;
pub mod store;
mod time;
pub mod worker;

/// The README's examples, compiled as doctests so they stay true (they use
/// every feature).
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "libsql", feature = "http", feature = "cli"))]
pub struct ReadmeDoctests;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ErrorSource, StoreError, StoreResult};
pub use job::{Job, JobId, JobStatus, NewJob, Progress, UniqueKey, UniqueScope};
#[cfg(feature = "libsql")]
pub use store::libsql::{LibsqlConfig, LibsqlStore};
pub use store::memory::MemoryStore;
pub use store::sqlite::{SqliteConfig, SqliteStore};
pub use store::LibsqlLocation;
pub use store::{
    ActivityBucket, ActivityWindow, AttemptEnd, AttemptRecord, BulkAction, BulkOutcome,
    CancelOutcome, Chores, ClaimRequest, Claimed, Completion, CronStore, Exchange, FailOutcome,
    Failure, FailureKind, Heartbeat, JobFilter, JobPage, JobStore, Lease, ListQuery, Polled,
    QueueActivity, RescueSummary, StatusCounts, WorkerInfo, WorkerRecord,
};
