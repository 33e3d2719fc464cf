//! `jobstore worker`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::registry::builtin_registry;
use super::{format, CliError};
use crate::worker::{ProgramAllowlist, Retention, Worker, WorkerConfig};
use crate::JobStore;

/// Arguments of `jobstore worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The most jobs run at once, of the default queue (with `--queue`,
    /// each queue's own N says it instead).
    #[arg(long, default_value_t = 4, conflicts_with = "queues")]
    concurrency: usize,
    /// A queue to serve and how many of its jobs run at once, as
    /// NAME=N (repeat for more queues; default: `default=CONCURRENCY`).
    #[arg(long = "queue", value_name = "NAME=N", value_parser = parse_queue)]
    queues: Vec<(String, usize)>,
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
    /// The only programs `exec` jobs may start (repeat, or separate with
    /// commas): an exact name looked up in PATH, or a path. By default any
    /// program: whoever may enqueue may run anything as this user.
    #[arg(long, value_delimiter = ',')]
    exec_allow: Vec<String>,
    /// Fire no cron schedules (by default every worker fires due ones;
    /// each tick enqueues one job however many workers run).
    #[arg(long)]
    no_cron: bool,
    /// Delete finished jobs once they finished this long ago (`7d`, `12h`),
    /// in small batches in the background; by default they are kept.
    #[arg(long, value_parser = humantime::parse_duration)]
    keep_finished: Option<std::time::Duration>,
    /// Print the summary at exit as JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

/// The allowlist `--exec-allow` gives: any program when none is named.
pub(super) fn allowlist(programs: &[String]) -> ProgramAllowlist {
    if programs.is_empty() {
        ProgramAllowlist::any()
    } else {
        ProgramAllowlist::only(programs.iter().cloned())
    }
}

/// Parses `NAME=N`.
fn parse_queue(text: &str) -> Result<(String, usize), String> {
    let (name, n) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=N (e.g. default=4)"))?;
    crate::job::validate_queue_name(name).map_err(|e| e.to_string())?;
    let n: usize = n
        .parse()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| {
            format!("{n:?} in {text:?} is not a concurrency of 1 or more (at most 1000)")
        })?;
    Ok((name.to_string(), n))
}

/// Runs the built-in job types until SIGTERM/SIGINT (or once), then prints
/// what the worker did (as JSON with `--json`).
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
        queues: args.queues.iter().cloned().collect(),
        exec_allow: allowlist(&args.exec_allow),
        job_types: Some(types.clone()),
        retention: args.keep_finished.map(Retention::new),
        cron_interval: if args.no_cron {
            None
        } else {
            defaults.cron_interval
        },
        ..defaults
    };
    if args.queues.len() != config.queues.len() {
        return Err(CliError::Input(
            "a queue is named twice in --queue".to_string(),
        ));
    }
    let worker = Worker::new(store, registry, config)?;
    let summary = if args.once {
        worker.run_once(worker.config().total_concurrency()).await?
    } else {
        let queues: Vec<String> = worker
            .config()
            .queue_slots()
            .iter()
            .map(|(queue, n)| format!("{queue} ({n} at once)"))
            .collect();
        eprintln!(
            "worker {} running {} from queue {}; SIGTERM or Ctrl-C stops it gracefully",
            worker.config().worker_id,
            types.join(", "),
            queues.join(", ")
        );
        worker.run_until_signal().await?
    };
    if args.json {
        println!("{}", format::json(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}
