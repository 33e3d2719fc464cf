//! `jobstore cancel` and `jobstore retry`.

use super::CliError;
use crate::{CancelOutcome, JobId, JobStore};

/// Cancels a job and says what happened.
pub(super) async fn cancel(store: &dyn JobStore, id: JobId) -> Result<(), CliError> {
    match store.cancel(id).await? {
        CancelOutcome::Cancelled => println!("{id}: cancelled"),
        CancelOutcome::Requested => {
            println!("{id}: cancellation requested; its worker stops it within a heartbeat")
        }
        CancelOutcome::AlreadyFinished(status) => {
            println!("{id}: already finished ({status}); nothing to cancel")
        }
    }
    Ok(())
}

/// Enqueues a retry of a failed or cancelled job and prints the new id.
pub(super) async fn retry(store: &dyn JobStore, id: JobId) -> Result<(), CliError> {
    let job = store.retry(id).await?;
    println!("{}", job.id);
    Ok(())
}
