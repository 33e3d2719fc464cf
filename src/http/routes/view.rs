//! Jobs as responses.

use crate::http::error::ApiError;
use crate::http::types::JobResponse;
use crate::job::{Job, JobStatus};
use crate::store::JobStore;

/// The job as the API shows it, with its queue position looked up when it
/// is pending.
pub(crate) async fn job_response(store: &dyn JobStore, job: Job) -> Result<JobResponse, ApiError> {
    let position = if job.status == JobStatus::Pending {
        store.queue_position(job.id).await?
    } else {
        None
    };
    Ok(JobResponse::new(job, position))
}

/// Jobs as the API shows them, with the queue positions of the pending ones
/// read in one store call.
pub(crate) async fn job_responses(
    store: &dyn JobStore,
    jobs: Vec<Job>,
) -> Result<Vec<JobResponse>, ApiError> {
    let pending: Vec<_> = jobs
        .iter()
        .filter(|job| job.status == JobStatus::Pending)
        .map(|job| job.id)
        .collect();
    let mut positions = if pending.is_empty() {
        Vec::new()
    } else {
        store.queue_positions(&pending).await?
    }
    .into_iter();
    Ok(jobs
        .into_iter()
        .map(|job| {
            let position = if job.status == JobStatus::Pending {
                positions.next().flatten()
            } else {
                None
            };
            JobResponse::new(job, position)
        })
        .collect())
}
