//! `jobstore cancel`, `retry` and `delete` on every job matching filters,
//! and `jobstore prune`.

use chrono::{DateTime, Utc};
use clap::Args;

use super::{format, CliError};
use crate::{BulkAction, JobFilter, JobStatus, JobStore};

/// Which jobs a command acts on: every job matching all the filters given.
#[derive(Debug, Default, Args)]
pub struct FilterArgs {
    /// Only jobs in this status (repeat, or separate with commas, for
    /// several: `--status failed,cancelled`).
    #[arg(long = "status", value_delimiter = ',')]
    statuses: Vec<JobStatus>,
    /// Only jobs of this type.
    #[arg(long = "type")]
    job_type: Option<String>,
    /// Only jobs in this queue.
    #[arg(long)]
    queue: Option<String>,
    /// Only jobs with this correlation id.
    #[arg(long)]
    correlation_id: Option<String>,
    /// Only jobs created before this moment: an RFC 3339 time
    /// (`2026-12-01T00:00:00Z`) or how long ago (`2h`, `7d`).
    #[arg(long, value_parser = parse_moment)]
    created_before: Option<DateTime<Utc>>,
}

impl FilterArgs {
    /// Whether no filter was given.
    pub(super) fn is_empty(&self) -> bool {
        self.filter().is_empty()
    }

    /// The filters as the store takes them.
    pub(super) fn filter(&self) -> JobFilter {
        JobFilter {
            statuses: self.statuses.clone(),
            job_type: self.job_type.clone(),
            queue: self.queue.clone(),
            correlation_id: self.correlation_id.clone(),
            created_before: self.created_before,
            ..JobFilter::default()
        }
    }
}

/// A moment given on the command line: an RFC 3339 time, or a duration
/// meaning that long ago.
pub(super) fn parse_moment(input: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(input) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = humantime::parse_duration(input).map_err(|e| {
        format!("{input:?} is neither an RFC 3339 time (2026-12-01T00:00:00Z) nor a duration ago (2h, 7d): {e}")
    })?;
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| format!("{input:?} reaches before the earliest time there is"))
}

/// Applies `action` to every job `filters` match (or, with `dry_run`,
/// says what it would do) and prints the counts.
pub(super) async fn run(
    store: &dyn JobStore,
    action: BulkAction,
    filters: &FilterArgs,
    dry_run: bool,
    json: bool,
) -> Result<(), CliError> {
    let filter = filters.filter();
    let outcome = if dry_run {
        store.bulk_preview(action, &filter).await?
    } else {
        store.bulk(action, &filter).await?
    };
    if json {
        println!("{}", format::json(&outcome)?);
    } else {
        let prefix = if dry_run { "dry run: " } else { "" };
        println!("{prefix}{outcome}");
    }
    Ok(())
}

/// Arguments of `jobstore prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete jobs that finished longer ago than this (`7d`, `12h`).
    #[arg(long, value_parser = humantime::parse_duration)]
    older_than: std::time::Duration,
    /// Only finished jobs in this status (completed, failed, cancelled;
    /// repeat or separate with commas). Default: all three.
    #[arg(long = "status", value_delimiter = ',')]
    statuses: Vec<JobStatus>,
    /// Only jobs of this type.
    #[arg(long = "type")]
    job_type: Option<String>,
    /// Only jobs in this queue.
    #[arg(long)]
    queue: Option<String>,
    /// How many jobs each transaction deletes (small batches keep other
    /// writers waiting only briefly).
    #[arg(long, default_value_t = 1000)]
    batch: u32,
    /// Count what would be deleted, and delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Then rewrite the whole file to give free pages back (`VACUUM`:
    /// needed once for a file made before incremental vacuum; it needs as
    /// much free disk as the file takes).
    #[arg(long)]
    vacuum: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What `jobstore prune` did, for `--json`.
#[derive(Debug, serde::Serialize)]
struct Pruned {
    dry_run: bool,
    finished_before: DateTime<Utc>,
    deleted: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_bytes: Option<u64>,
}

/// Deletes finished jobs older than asked, batch by batch.
pub(super) async fn prune(store: &dyn JobStore, args: PruneArgs) -> Result<(), CliError> {
    let finished_before = chrono::Duration::from_std(args.older_than)
        .ok()
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| {
            CliError::Input(format!("--older-than {:?} is too long", args.older_than))
        })?;
    let filter = JobFilter {
        statuses: args.statuses,
        job_type: args.job_type,
        queue: args.queue,
        finished_before: Some(finished_before),
        ..JobFilter::default()
    };
    let deleted = if args.dry_run {
        // The same checks as a real prune, then a count of what it deletes.
        crate::store::rules::validate_prune(&filter, args.batch)?;
        store
            .bulk_preview(BulkAction::Delete, &filter)
            .await?
            .applied
    } else {
        let mut deleted = 0;
        loop {
            let n = store.prune(&filter, args.batch).await?;
            deleted += n;
            if n < u64::from(args.batch) {
                break deleted;
            }
        }
    };
    let file_bytes = if args.vacuum && !args.dry_run {
        store.vacuum(true).await?
    } else {
        None
    };
    let report = Pruned {
        dry_run: args.dry_run,
        finished_before,
        deleted,
        file_bytes,
    };
    if args.json {
        println!("{}", format::json(&report)?);
    } else {
        let verb = if args.dry_run {
            "dry run: would delete"
        } else {
            "deleted"
        };
        println!(
            "{verb} {deleted} finished jobs older than {}",
            humantime::format_duration(args.older_than)
        );
        if let Some(bytes) = file_bytes {
            println!("vacuumed: the file now takes {bytes} bytes");
        }
    }
    Ok(())
}
