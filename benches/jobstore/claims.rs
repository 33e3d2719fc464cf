//! Claim speed against the queue's depth: the claim must not scan.

use std::path::Path;
use std::time::Instant;

use jobstore::ClaimRequest;

use crate::backend::Backend;
use crate::process::fill;
use crate::BenchResult;

/// Single-job claims per second, `claims` of them, from a fresh store at
/// `path` holding `pending` jobs.
pub async fn claims_per_sec(
    backend: Backend,
    path: &Path,
    pending: usize,
    claims: usize,
) -> BenchResult<f64> {
    let store = backend.open(path).await?;
    fill(&*store, pending).await?;
    let request = ClaimRequest::new("bench", 1);
    let started = Instant::now();
    for _ in 0..claims {
        if store.claim(&request).await?.len() != 1 {
            return Err("a claim found no job".into());
        }
    }
    Ok(claims as f64 / started.elapsed().as_secs_f64())
}
