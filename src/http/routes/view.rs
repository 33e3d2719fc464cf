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
