//! Counting jobs by status (exact) and by type (from the newest jobs).

use std::collections::BTreeMap;

use crate::error::StoreResult;
use crate::http::types::StatsResponse;
use crate::store::{JobStore, ListQuery, StatusCounts};

/// Counts jobs by status with the store's own query, and by type by
/// reading up to `scan_limit` of the newest jobs: the
/// [`JobStore`] contract has no query by type.
pub(crate) async fn job_stats(store: &dyn JobStore, scan_limit: u32) -> StoreResult<StatsResponse> {
    let by_status = store.count_by_status().await?;
    let mut by_type: BTreeMap<String, StatusCounts> = BTreeMap::new();
    let mut scanned: u64 = 0;
    let mut cursor = None;
    let mut complete = by_status.total() == 0;
    while scanned < u64::from(scan_limit) {
        let left = u64::from(scan_limit) - scanned;
        let page_size = u32::try_from(left).unwrap_or(ListQuery::MAX_LIMIT);
        let mut query = ListQuery::default().limit(page_size.min(ListQuery::MAX_LIMIT));
        if let Some(after) = cursor {
            query = query.after(after);
        }
        let page = store.list(&query).await?;
        for job in &page.jobs {
            by_type
                .entry(job.job_type.clone())
                .or_default()
                .add(job.status, 1);
        }
        scanned += page.jobs.len() as u64;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => {
                complete = true;
                break;
            }
        }
    }
    Ok(StatsResponse {
        total: by_status.total(),
        by_status,
        by_type,
        by_type_scanned: scanned,
        by_type_complete: complete,
    })
}
