//! Claim speed against the queue's depth: the claim must not scan.

use std::path::Path;
use std::time::Instant;

use jobstore::ClaimRequest;

use crate::backend::{checkpoint, Backend};
use crate::process::fill;
use crate::stats::Samples;
use crate::BenchResult;

/// Single-job claims per second in `rounds` rounds of `claims` claims,
/// from a fresh store at `path` filled with `pending` jobs once (filling a
/// million jobs takes far longer than claiming from them). The fill's log
/// is checkpointed and a tenth of `claims` are made unmeasured first, so
/// the rounds time claims, not the tail of the fill. Before each round the
/// queue is topped up (unmeasured) to `pending` again, so every round
/// claims from the same depth.
pub async fn claims_per_sec(
    backend: Backend,
    path: &Path,
    pending: usize,
    claims: usize,
    rounds: usize,
) -> BenchResult<Samples> {
    let store = backend.open(path).await?;
    fill(&*store, pending).await?;
    checkpoint(path)?;
    let request = ClaimRequest::new("bench", 1);
    for _ in 0..claims.div_ceil(10) {
        if store.claim(&request).await?.len() != 1 {
            return Err("a claim found no job".into());
        }
    }
    let mut samples = Samples::default();
    let mut claimed = claims.div_ceil(10);
    for _ in 0..rounds {
        fill(&*store, claimed).await?;
        claimed = claims;
        let started = Instant::now();
        for _ in 0..claims {
            if store.claim(&request).await?.len() != 1 {
                return Err("a claim found no job".into());
            }
        }
        samples
            .0
            .push(claims as f64 / started.elapsed().as_secs_f64());
    }
    Ok(samples)
}
