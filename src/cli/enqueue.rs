//! `jobstore enqueue`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;

use super::format::{self, JobView};
use super::registry::builtin_registry;
use super::CliError;
use crate::http::EnqueueRequest;
use crate::worker::{ProgramAllowlist, Registry};
use crate::StoreError;
use crate::{JobStore, NewJob, UniqueScope};

/// Arguments of `jobstore enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The job type (the name its handler is registered under).
    #[arg(required_unless_present = "batch")]
    job_type: Option<String>,
    /// The params, as JSON; `@PATH` reads them from a file and `-` from
    /// standard input (for params too long for an argument).
    #[arg(long, default_value = "{}")]
    params: String,
    /// Enqueue many jobs, all or none, in one transaction: JSON lines read
    /// from a file (or `-` for standard input), each one job as `POST /jobs`
    /// takes it: `{"job_type": "exec", "params": {...}, "queue": "video"}`.
    /// Prints one id per line, in order.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "job_type", "run_at", "delay", "max_attempts", "correlation_id", "queue", "priority",
        "unique_key", "unique_for",
    ])]
    batch: Option<String>,
    /// Print the job (or, with --batch, the jobs) as JSON instead of the id.
    #[arg(long)]
    json: bool,
    /// Not before this time (RFC 3339, e.g. 2026-12-01T09:00:00Z).
    #[arg(long, conflicts_with = "delay", value_parser = parse_time)]
    run_at: Option<DateTime<Utc>>,
    /// Not before this delay has passed (e.g. 30s, 5m, 1h 30m).
    #[arg(long, value_parser = parse_duration)]
    delay: Option<Duration>,
    /// How many attempts may fail before the job fails for good.
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Groups related jobs, for listing.
    #[arg(long)]
    correlation_id: Option<String>,
    /// The queue (default: `default`).
    #[arg(long)]
    queue: Option<String>,
    /// 0 (claimed first) to 9 (last); default 5.
    #[arg(long)]
    priority: Option<u8>,
    /// Enqueue only if no job holds this key (within `--unique-for`); else
    /// print the job that holds it.
    #[arg(long)]
    unique_key: Option<String>,
    /// Accept a job type this binary does not run (one only your own
    /// workers know); by default only built-in types, with params that fit.
    #[arg(long)]
    any_type: bool,
    /// How long the unique key is held: `pending` (until a worker claims
    /// the job), `active` (until it finishes; the default) or a duration
    /// after it finished (e.g. 10m).
    #[arg(long, requires = "unique_key", value_parser = parse_scope)]
    unique_for: Option<UniqueScope>,
}

fn parse_scope(text: &str) -> Result<UniqueScope, String> {
    match text {
        "pending" => Ok(UniqueScope::WhilePending),
        "active" => Ok(UniqueScope::WhileActive),
        other => parse_duration(other)
            .map(UniqueScope::UntilFinishedPlus)
            .map_err(|_| {
                format!("{other:?} is not pending, active or a duration after finishing (e.g. 10m)")
            }),
    }
}

/// Why a job of `job_type` was refused, with what to do about a type the
/// binary does not know.
pub(super) fn refusal(registry: &Registry, job_type: &str, error: StoreError) -> CliError {
    if registry.queue(job_type).is_none() {
        CliError::Input(format!(
            "{error}; pass --any-type to enqueue a type that only your own workers run"
        ))
    } else {
        CliError::Input(error.to_string())
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-12-01T09:00:00Z)"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (expected e.g. 30s, 5m, 1h 30m)"))
}

/// Reads `source`: a file's text for `@PATH` (or, with `plain_path`, for
/// any path), standard input for `-`, else the text itself.
fn read_source(source: &str, what: &str, plain_path: bool) -> Result<String, CliError> {
    use std::io::Read;
    if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Input(format!("cannot read {what} from standard input: {e}")))?;
        return Ok(text);
    }
    let path = match source.strip_prefix('@') {
        Some(path) => path,
        None if plain_path => source,
        None => return Ok(source.to_string()),
    };
    std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("cannot read {what} from {path:?}: {e}")))
}

/// Parses the params, builds the job and prints its id (or enqueues a
/// batch).
pub(super) async fn run(store: &dyn JobStore, args: EnqueueArgs) -> Result<(), CliError> {
    if let Some(source) = &args.batch {
        return batch(store, source, args.any_type, args.json).await;
    }
    let job_type = args
        .job_type
        .ok_or_else(|| CliError::Input("give a job type, or --batch FILE".into()))?;
    let text = read_source(&args.params, "--params", false)?;
    let params: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Input(format!("--params is not valid JSON: {e}")))?;
    let mut job = NewJob::new(job_type, params);
    if let Some(at) = args.run_at {
        job = job.run_at(at);
    }
    if let Some(delay) = args.delay {
        job = job.delay(delay);
    }
    if let Some(n) = args.max_attempts {
        job = job.max_attempts(n);
    }
    if let Some(id) = args.correlation_id {
        job = job.correlation_id(id);
    }
    if let Some(queue) = args.queue {
        job = job.queue(queue);
    }
    if let Some(priority) = args.priority {
        job = job.priority(priority);
    }
    if let Some(key) = args.unique_key {
        job = job.unique_key(key, args.unique_for.unwrap_or(UniqueScope::WhileActive));
    }
    if !args.any_type {
        let registry = builtin_registry()?;
        registry
            .check(&mut job, &ProgramAllowlist::any())
            .map_err(|e| refusal(&registry, job.job_type(), e))?;
    }
    let enqueued = store.enqueue(job).await?;
    if enqueued.existing {
        eprintln!(
            "a job with this unique key is already {}: nothing enqueued",
            enqueued.job.status
        );
    }
    if args.json {
        println!(
            "{}",
            format::json(&JobView::load(store, enqueued.job).await?)?
        );
    } else {
        println!("{}", enqueued.job.id);
    }
    Ok(())
}

/// Enqueues every job of a JSON-lines file in one transaction and prints
/// their ids in order.
async fn batch(
    store: &dyn JobStore,
    source: &str,
    any_type: bool,
    json: bool,
) -> Result<(), CliError> {
    let text = read_source(source, "--batch", true)?;
    let registry = if any_type {
        None
    } else {
        Some(builtin_registry()?)
    };
    let mut jobs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |e: String| CliError::Input(format!("--batch line {}: {e}", i + 1));
        let request: EnqueueRequest = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let mut job = request.into_new_job().map_err(at)?;
        job.validate().map_err(|e| at(e.to_string()))?;
        if let Some(registry) = &registry {
            registry
                .check(&mut job, &ProgramAllowlist::any())
                .map_err(|e| refusal(registry, job.job_type(), e))
                .map_err(|e| at(e.to_string()))?;
        }
        jobs.push(job);
    }
    if jobs.is_empty() {
        return Err(CliError::Input("--batch holds no jobs".into()));
    }
    let enqueued = store.enqueue_many(jobs).await?;
    if json {
        let mut views = Vec::with_capacity(enqueued.len());
        for e in enqueued {
            views.push(JobView::load(store, e.job).await?);
        }
        println!("{}", format::json(&views)?);
    } else {
        let mut out = String::new();
        for e in &enqueued {
            out.push_str(&e.job.id.to_string());
            out.push('\n');
        }
        print!("{out}");
    }
    Ok(())
}
