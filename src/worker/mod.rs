//! Running jobs: typed job definitions, the registry of handlers, the
//! context a handler works with, and the worker that claims and runs jobs.

mod allowlist;
pub(crate) mod attempt;
mod backoff;
mod children;
mod config;
mod context;
mod error;
mod first_poll;
mod job_type;
mod loop_thread;
mod presence;
mod registry;
mod retention;
mod run_loop;
mod runner;
mod spawner;
mod summary;

pub use allowlist::ProgramAllowlist;
pub use attempt::outcome::AttemptOutcome;
pub use backoff::Backoff;
pub use config::WorkerConfig;
pub use context::JobContext;
pub use error::{JobError, JobErrorKind, ResultExt, WorkerError};
pub use job_type::JobType;
pub use registry::Registry;
pub use retention::Retention;
pub use runner::{Worker, WorkerHealth};
pub use summary::RunSummary;
