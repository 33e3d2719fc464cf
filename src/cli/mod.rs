//! The `jobstore` command line.

mod bulk;
mod control;
mod cron;
mod demo;
mod enqueue;
mod error;
mod format;
mod job_bar;
mod list;
mod migrate;
mod queue;
mod registry;
mod serve;
mod show;
mod watch;
mod worker;
mod workers;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::store::StoreConfig;
use crate::JobId;

pub use error::CliError;
pub use registry::builtin_registry;

/// A durable job queue: embedded on SQLite, honest about progress.
#[derive(Debug, Parser)]
#[command(name = "jobstore", version, about)]
pub struct Cli {
    /// The database: `sqlite:PATH` (or a plain path) for the embedded
    /// default, `libsql:PATH` for a local libSQL file, a `libsql://`,
    /// `https://` or `http://` URL for a libSQL server (token from
    /// `TURSO_AUTH_TOKEN`), or `memory:`. Without it, `JOB_STORE_BACKEND`,
    /// `JOB_STORE_DB_PATH` and `TURSO_DATABASE_URL` decide, and the default
    /// is `sqlite:./jobstore.db`.
    #[arg(long, global = true, env = "JOBSTORE_DATABASE_URL")]
    pub database_url: Option<StoreConfig>,

    /// How log lines on stderr are written: `text` for people (coloured
    /// only on a terminal) or `json`, one object per line, for log
    /// shippers. `RUST_LOG` chooses what is logged.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations and say what was applied.
    Migrate {
        /// Print `{"database": ..., "applied": [...]}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a job to the queue and print its id.
    Enqueue(enqueue::EnqueueArgs),
    /// List jobs, newest first.
    List(list::ListArgs),
    /// Show one job in full.
    Show {
        /// The job's id.
        id: JobId,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Follow a job's progress until it ends; exit 0 only if it completed.
    Watch(watch::WatchArgs),
    /// Cancel a job, or every job matching filters: a pending one at once,
    /// a running one by asking its worker. A finished job is refused
    /// (exit 1).
    Cancel(control::TargetArgs),
    /// Enqueue a new job with the type and params of a failed or cancelled
    /// one and print its id; with filters, retry every failed or cancelled
    /// match not retried yet.
    Retry(control::TargetArgs),
    /// Delete every job matching filters, except running ones.
    Delete(control::FilterOnlyArgs),
    /// Delete finished jobs older than a given age, in small batches, and
    /// give the freed space back.
    Prune(bulk::PruneArgs),
    /// List, pause, resume and limit queues.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Manage cron schedules (workers fire them).
    #[command(subcommand)]
    Cron(cron::CronCommand),
    /// Serve the HTTP API and the dashboard until SIGTERM or SIGINT.
    Serve(serve::ServeArgs),
    /// The workers seen in the last day: host, pid, queues, jobs running,
    /// last heartbeat; alive, stopped, or gone without a word.
    Workers {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the built-in job types (`exec`) until SIGTERM or SIGINT, or once.
    Worker(worker::WorkerArgs),
    /// Enqueue a handful of `exec` jobs, run them with live progress bars,
    /// cancel one, retry one, and summarize: the whole product in seconds.
    Demo,
}

impl Cli {
    /// Runs the command, writing its report to stdout, and says how the
    /// process should exit.
    pub async fn run(self) -> Result<ExitCode, CliError> {
        let config = match self.database_url {
            Some(config) => config.with_token_from_env(),
            None => StoreConfig::from_env()?,
        };
        if let Command::Migrate { json } = self.command {
            migrate::run(&config, json).await?;
            return Ok(ExitCode::SUCCESS);
        }
        let store = config.open().await?;
        match self.command {
            Command::Migrate { .. } => {}
            Command::Enqueue(args) => enqueue::run(&*store, args).await?,
            Command::List(args) => list::run(&*store, args).await?,
            Command::Show { id, json } => show::run(&*store, id, json).await?,
            Command::Watch(args) => return watch::run(&*store, args).await,
            Command::Cancel(args) => control::cancel(&*store, args).await?,
            Command::Retry(args) => control::retry(&*store, args).await?,
            Command::Delete(args) => control::delete(&*store, args).await?,
            Command::Prune(args) => bulk::prune(&*store, args).await?,
            Command::Queue(command) => queue::run(&*store, command).await?,
            Command::Cron(command) => cron::run(&*store, command).await?,
            Command::Serve(args) => serve::run(store, args).await?,
            Command::Worker(args) => return worker::run(store, args).await,
            Command::Workers { json } => workers::run(&*store, json).await?,
            Command::Demo => return demo::run(store).await,
        }
        Ok(ExitCode::SUCCESS)
    }
}
