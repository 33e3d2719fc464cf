//! `jobstore watch`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indicatif::ProgressBar;

use super::job_bar::{outcome, JobBar};
use super::CliError;
use crate::store::changed_or_after;
use crate::{JobId, JobStatus, JobStore};

/// The shortest time between two reads of the watched job.
const READ_GAP: Duration = Duration::from_millis(20);

/// Arguments of `jobstore watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The job's id.
    id: JobId,
    /// How often to look at the job when the database does not tell of its
    /// changes (a libSQL server); a local file tells at once.
    #[arg(long, default_value = "200ms", value_parser = humantime::parse_duration)]
    interval: Duration,
}

/// Follows the job until it ends, then prints its outcome; succeeds only
/// when it completed.
pub(super) async fn run(store: &dyn JobStore, args: WatchArgs) -> Result<ExitCode, CliError> {
    let bar = JobBar::new(ProgressBar::new(100), &short_id(args.id))?;
    let mut changes = store.changes().map(|feed| feed.subscribe());
    let job = loop {
        let job = store.get(args.id).await?;
        if job.status.is_terminal() {
            break job;
        }
        let ahead = match job.status {
            JobStatus::Pending => store.queue_position(job.id).await?,
            _ => None,
        };
        bar.update(&job, ahead);
        let read_at = tokio::time::Instant::now();
        changed_or_after(&mut changes, args.interval, READ_GAP, read_at).await;
    };
    // The bar is drawn only on a terminal: it goes, and the outcome is
    // printed once, on stdout.
    bar.clear();
    println!("{}", outcome(&job));
    Ok(if job.status == JobStatus::Completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The last (random) part of an id, enough to tell jobs apart on screen;
/// the first part is a timestamp, shared by jobs created together.
pub(super) fn short_id(id: JobId) -> String {
    let id = id.to_string();
    id.get(id.len().saturating_sub(8)..)
        .unwrap_or(&id)
        .to_string()
}
