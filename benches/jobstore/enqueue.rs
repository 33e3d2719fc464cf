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
    let mut remaining = noop::jobs(jobs).into_iter();
    if batch == 1 {
        let started = Instant::now();
        for job in remaining {
            store.create(job).await?;
        }
        return Ok(jobs as f64 / started.elapsed().as_secs_f64());
    }
    // Split before the clock starts (splitting the front off one vector call
    // by call would copy the rest each time).
    let batches: Vec<Vec<_>> = std::iter::from_fn(|| {
        let next: Vec<_> = remaining.by_ref().take(batch).collect();
        (!next.is_empty()).then_some(next)
    })
    .collect();
    let started = Instant::now();
    for next in batches {
        store.create_many(next).await?;
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}
