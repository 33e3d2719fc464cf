//! `jobstore worker`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::registry::builtin_registry;
use super::{format, CliError};
use crate::worker::{Worker, WorkerConfig};
use crate::JobStore;

/// Arguments of `jobstore worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The most jobs run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Only these job types (comma-separated; default: every built-in type).
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Run-once mode: rescue expired leases, claim up to `--concurrency`
    /// jobs, run them, print a summary and exit.
    #[arg(long)]
    once: bool,
    /// The id recorded on claimed jobs (default: worker-PID-RANDOM).
    #[arg(long)]
    id: Option<String>,
    /// Fire no cron schedules (by default every worker fires due ones;
    /// each tick enqueues one job however many workers run).
    #[arg(long)]
    no_cron: bool,
}

/// Runs the built-in job types until SIGTERM/SIGINT (or once), then prints
/// what the worker did as JSON.
pub(super) async fn run(store: Arc<dyn JobStore>, args: WorkerArgs) -> Result<ExitCode, CliError> {
    let registry = builtin_registry()?;
    let known = registry.names();
    if let Some(unknown) = args.types.iter().find(|t| !known.contains(&t.as_str())) {
        return Err(CliError::Input(format!(
            "unknown job type {unknown:?}; this binary runs: {}",
            known.join(", ")
        )));
    }
    let types = if args.types.is_empty() {
        known.iter().map(|t| t.to_string()).collect()
    } else {
        args.types
    };
    let defaults = WorkerConfig::default();
    let config = WorkerConfig {
        worker_id: args.id.unwrap_or(defaults.worker_id.clone()),
        concurrency: args.concurrency,
        job_types: Some(types.clone()),
        cron_interval: if args.no_cron {
            None
        } else {
            defaults.cron_interval
        },
        ..defaults
    };
    let worker = Worker::new(store, registry, config)?;
    let summary = if args.once {
        worker.run_once(args.concurrency).await?
    } else {
        eprintln!(
            "worker {} running {} (at most {} at once); SIGTERM or Ctrl-C stops it gracefully",
            worker.config().worker_id,
            types.join(", "),
            args.concurrency
        );
        worker.run_until_signal().await?
    };
    println!("{}", format::json(&summary)?);
    Ok(ExitCode::SUCCESS)
}
