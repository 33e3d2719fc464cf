//! `jobstore cancel`, `retry` and `delete`: one job by id, or every job
//! matching filters.

use clap::Args;

use super::bulk::{self, FilterArgs};
use super::format::{self, JobView};
use super::CliError;
use crate::http::{CancelAction, CancelResponse, JobResponse};
use crate::{BulkAction, CancelOutcome, JobId, JobStore};

/// A job by id, or every job matching filters.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The job's id (or give filters instead).
    id: Option<JobId>,
    /// Which jobs, when no id is given.
    #[command(flatten)]
    filters: FilterArgs,
    /// With filters: count what would change, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Every job matching filters.
#[derive(Debug, Args)]
pub struct FilterOnlyArgs {
    /// Which jobs.
    #[command(flatten)]
    filters: FilterArgs,
    /// Count what would change, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl TargetArgs {
    /// The one job named, or `None` for the filters; refuses both or
    /// neither.
    fn single(&self, action: BulkAction) -> Result<Option<JobId>, CliError> {
        match (self.id, self.filters.is_empty()) {
            (Some(_), false) => Err(CliError::Input(format!(
                "{action}: give a job id or filters, not both"
            ))),
            (None, true) => Err(CliError::Input(format!(
                "{action}: give a job id, or filters (--status, --type, --queue, \
                 --correlation-id, --created-before) to {action} every matching job"
            ))),
            (Some(_), true) if self.dry_run => Err(CliError::Input(format!(
                "{action}: --dry-run counts the jobs filters match; with one id there is \
                 nothing to count"
            ))),
            (id, _) => Ok(id),
        }
    }
}

/// Cancels a job, or every matching job, and says what happened.
pub(super) async fn cancel(store: &dyn JobStore, args: TargetArgs) -> Result<(), CliError> {
    let Some(id) = args.single(BulkAction::Cancel)? else {
        return bulk::run(
            store,
            BulkAction::Cancel,
            &args.filters,
            args.dry_run,
            args.json,
        )
        .await;
    };
    let outcome = store.cancel(id).await?;
    if let CancelOutcome::AlreadyFinished(status) = outcome {
        return Err(CliError::Refused(format!(
            "job {id} already finished ({status}); nothing to cancel"
        )));
    }
    if args.json {
        // As `POST /jobs/{id}/cancel` answers.
        let job = JobView::load(store, store.get(id).await?).await?;
        let response = CancelResponse {
            outcome: match outcome {
                CancelOutcome::Requested => CancelAction::CancelRequested,
                _ => CancelAction::Cancelled,
            },
            job: JobResponse::new(job.job, job.queue_position),
        };
        println!("{}", format::json(&response)?);
        return Ok(());
    }
    match outcome {
        CancelOutcome::Requested => {
            println!("{id}: cancellation requested; its worker stops it within a heartbeat")
        }
        _ => println!("{id}: cancelled"),
    }
    Ok(())
}

/// Enqueues a retry of a failed or cancelled job and prints the new id,
/// or retries every matching job.
pub(super) async fn retry(store: &dyn JobStore, args: TargetArgs) -> Result<(), CliError> {
    let Some(id) = args.single(BulkAction::Retry)? else {
        return bulk::run(
            store,
            BulkAction::Retry,
            &args.filters,
            args.dry_run,
            args.json,
        )
        .await;
    };
    let job = store.retry(id).await?;
    if args.json {
        println!("{}", format::json(&JobView::load(store, job).await?)?);
    } else {
        println!("{}", job.id);
    }
    Ok(())
}

/// Deletes every matching job that is not running.
pub(super) async fn delete(store: &dyn JobStore, args: FilterOnlyArgs) -> Result<(), CliError> {
    bulk::run(
        store,
        BulkAction::Delete,
        &args.filters,
        args.dry_run,
        args.json,
    )
    .await
}
