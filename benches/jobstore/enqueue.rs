//! Enqueue speed: one job per call, and 100 per call.

use std::path::Path;
use std::time::Instant;

use crate::backend::Backend;
use crate::noop;
use crate::BenchResult;

/// Jobs per second enqueued into a fresh store at `path`, `batch` per call
/// (`create` for 1, `create_many` otherwise).
pub async fn jobs_per_sec(
    backend: Backend,
    path: &Path,
    jobs: usize,
    batch: usize,
) -> BenchResult<f64> {
    let store = backend.open(path).await?;
    let mut remaining = noop::jobs(jobs);
    let started = Instant::now();
    if batch == 1 {
        for job in remaining {
            store.create(job).await?;
        }
    } else {
        while !remaining.is_empty() {
            let rest = remaining.split_off(batch.min(remaining.len()));
            store.create_many(remaining).await?;
            remaining = rest;
        }
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}
