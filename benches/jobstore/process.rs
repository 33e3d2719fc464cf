//! Processing throughput: a worker running no-op jobs, from its first claim
//! to its last committed completion.

use std::path::Path;
use std::sync::Arc;

use jobstore::worker::{Worker, WorkerConfig};
use jobstore::JobStore;

use crate::backend::{claim_to_completion_ms, Backend};
use crate::noop::{self, Counter};
use crate::running::Running;
use crate::BenchResult;

/// Fills `store` with `jobs` pending no-op jobs, 1,000 per transaction.
pub async fn fill(store: &dyn JobStore, jobs: usize) -> BenchResult<()> {
    let mut left = jobs;
    while left > 0 {
        let n = left.min(1000);
        store.create_many(noop::jobs(n)).await?;
        left -= n;
    }
    Ok(())
}

/// Jobs per second a worker with the default settings and `concurrency`
/// processes from a fresh store at `path` holding `jobs` pending jobs.
pub async fn jobs_per_sec(
    backend: Backend,
    path: &Path,
    jobs: usize,
    concurrency: usize,
) -> BenchResult<f64> {
    jobs_per_sec_watching(backend, path, jobs, concurrency, true).await
}

/// [`jobs_per_sec`], with the file watched for commits or not.
pub async fn jobs_per_sec_watching(
    backend: Backend,
    path: &Path,
    jobs: usize,
    concurrency: usize,
    watch: bool,
) -> BenchResult<f64> {
    let store = backend.open_watching(path, watch).await?;
    fill(&*store, jobs).await?;
    let counter = Counter::until(jobs as u64);
    let config = WorkerConfig {
        concurrency,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(Arc::clone(&store), noop::registry(counter.clone())?, config)?;
    let running = Running::start(&worker);
    counter.reached().await;
    // Every handler ran; the worker stops once the last completions are
    // written (shutdown waits for running attempts).
    let summary = running.stop().await?;
    if summary.completed != jobs as u64 {
        return Err(format!(
            "{} of {jobs} jobs completed: {summary:?}",
            summary.completed
        )
        .into());
    }
    let counts = store.count_by_status().await?;
    if counts.completed != jobs as u64 {
        return Err(format!(
            "the store holds {} completed jobs of {jobs}",
            counts.completed
        )
        .into());
    }
    drop(store);
    let ms = claim_to_completion_ms(path)?;
    Ok(jobs as f64 * 1000.0 / ms as f64)
}
