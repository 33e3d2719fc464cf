//! Claim speed against the queue's depth: the claim must not scan.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use jobstore::{ClaimRequest, JobStore};

use crate::backend::{checkpoint, Backend};
use crate::process::fill;
use crate::stats::Samples;
use crate::BenchResult;

/// One store and the jobs taken from its queue.
struct Queue {
    store: Arc<dyn JobStore>,
    path: PathBuf,
    /// Jobs claimed since the queue was last topped up.
    claimed: usize,
}

impl Queue {
    /// Tops the queue up to its depth and empties the write-ahead log
    /// (neither measured), so a round claims from the same depth and does
    /// not pay for the top-up's checkpoint.
    async fn top_up(&mut self) -> BenchResult<()> {
        fill(&*self.store, self.claimed).await?;
        self.claimed = 0;
        checkpoint(&self.path)?;
        Ok(())
    }

    /// Claims `claims` jobs one at a time.
    async fn claim(&mut self, claims: usize) -> BenchResult<()> {
        let request = ClaimRequest::new("bench", 1);
        for _ in 0..claims {
            if self.store.claim(&request).await?.len() != 1 {
                return Err("a claim found no job".into());
            }
        }
        self.claimed += claims;
        Ok(())
    }
}

/// Single-job claims per second at each of `depths` pending jobs, each
/// depth in a fresh store of its own at the matching path of `paths`:
/// `rounds` rounds of `claims` claims per depth. The rounds of the depths
/// take turns, so whatever slows the machine for a while (another
/// process, the disk flushing) falls on every depth alike. A tenth of
/// `claims` are made unmeasured first, so the rounds time claims, not the
/// tail of the fill.
pub async fn claims_per_sec(
    backend: Backend,
    paths: &[&Path],
    depths: &[usize],
    claims: usize,
    rounds: usize,
) -> BenchResult<Vec<Samples>> {
    if let Some(depth) = depths.iter().find(|&&depth| depth < claims) {
        return Err(format!("a queue of {depth} cannot give {claims} claims a round").into());
    }
    let mut queues = Vec::with_capacity(depths.len());
    for (path, &depth) in paths.iter().zip(depths) {
        let store = backend.open(path).await?;
        fill(&*store, depth).await?;
        let mut queue = Queue {
            store,
            path: path.to_path_buf(),
            claimed: 0,
        };
        queue.top_up().await?;
        queue.claim(claims.div_ceil(10)).await?;
        queues.push(queue);
    }
    let mut samples = vec![Samples::default(); queues.len()];
    for _ in 0..rounds {
        for (queue, samples) in queues.iter_mut().zip(&mut samples) {
            queue.top_up().await?;
            let started = Instant::now();
            queue.claim(claims).await?;
            samples
                .0
                .push(claims as f64 / started.elapsed().as_secs_f64());
        }
    }
    Ok(samples)
}
