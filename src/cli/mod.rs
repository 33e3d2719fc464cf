//! The `jobstore` command line.

mod database_url;
mod migrate;

use clap::{Parser, Subcommand};

pub use database_url::DatabaseUrl;

/// A durable job queue: embedded on SQLite, honest about progress.
#[derive(Debug, Parser)]
#[command(name = "jobstore", version, about)]
pub struct Cli {
    /// The database: `sqlite:PATH` (or a plain path) for the embedded default.
    #[arg(
        long,
        global = true,
        env = "JOBSTORE_DATABASE_URL",
        default_value = "sqlite:./jobstore.db"
    )]
    pub database_url: DatabaseUrl,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations and say what was applied.
    Migrate,
}

impl Cli {
    /// Runs the command, writing its report to stdout.
    pub async fn run(self) -> Result<(), crate::StoreError> {
        match self.command {
            Command::Migrate => migrate::run(&self.database_url).await,
        }
    }
}
