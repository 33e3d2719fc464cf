//! Counting jobs by status and by type.

use crate::error::StoreResult;
use crate::http::types::StatsResponse;
use crate::job::JobStatus;
use crate::store::{JobStore, StatusCounts};

/// Counts every job by type and status with one store query, and sums the
/// types for the counts by status, so both agree.
pub(crate) async fn job_stats(store: &dyn JobStore) -> StoreResult<StatsResponse> {
    let by_type = store.count_by_type().await?;
    let mut by_status = StatusCounts::default();
    for counts in by_type.values() {
        for status in JobStatus::ALL {
            by_status.add(status, counts.get(status));
        }
    }
    Ok(StatsResponse {
        total: by_status.total(),
        by_status,
        by_type,
    })
}
