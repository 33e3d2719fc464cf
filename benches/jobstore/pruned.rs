//! Claims and enqueues on a file that has had many jobs pruned, beside a
//! new file: deleting old jobs must leave neither slower.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use diesel::{Connection, RunQueryDsl, SqliteConnection};
use jobstore::{ClaimRequest, JobFilter, JobStore};

use crate::backend::{checkpoint, Backend};
use crate::process::fill;
use crate::stats::Samples;
use crate::BenchResult;

/// Claims per second and enqueues per second (one per call), on a new
/// file and on one that had `history` jobs run and pruned.
pub struct Figures {
    /// Single-job claims per second: new file, pruned file.
    pub claims: [Samples; 2],
    /// Single-job enqueues per second: new file, pruned file.
    pub enqueues: [Samples; 2],
}

/// Marks every job of the file finished, as if it had run (far quicker
/// than running a million no-op jobs, and the same rows).
fn finish_all(path: &Path) -> Result<(), String> {
    let url = path.to_str().ok_or("the path is not UTF-8")?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query("PRAGMA busy_timeout = 30000")
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    diesel::sql_query(
        "UPDATE jobs SET status = 'completed', attempt = 1, started_at = created_at, \
         completed_at = created_at, updated_at = created_at, result = 'null'",
    )
    .execute(&mut conn)
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Prunes every finished job, ten thousand per batch.
async fn prune_all(store: &dyn JobStore) -> BenchResult<u64> {
    let filter =
        JobFilter::default().finished_before(chrono::Utc::now() + chrono::Duration::minutes(1));
    let mut deleted = 0;
    loop {
        let n = store.prune(&filter, 10_000).await?;
        deleted += n;
        if n < 10_000 {
            return Ok(deleted);
        }
    }
}

/// Measures `backend` on a new file at `fresh` and on one at `pruned`
/// that first had `history` jobs created, finished and pruned: `rounds`
/// rounds of `n` single claims from `depth` pending jobs and `n` single
/// enqueues, the two files taking turns.
pub async fn figures(
    backend: Backend,
    fresh: &Path,
    pruned: &Path,
    history: usize,
    depth: usize,
    n: usize,
    rounds: usize,
) -> BenchResult<Figures> {
    let old = backend.open(pruned).await?;
    fill(&*old, history).await?;
    drop(old);
    finish_all(pruned)?;
    let old = backend.open(pruned).await?;
    let deleted = prune_all(&*old).await?;
    if deleted != history as u64 {
        return Err(format!("pruned {deleted} of {history} jobs").into());
    }
    let stores: [(Arc<dyn JobStore>, &Path); 2] =
        [(backend.open(fresh).await?, fresh), (old, pruned)];
    for (store, path) in &stores {
        fill(&**store, depth).await?;
        checkpoint(path)?;
    }
    let mut figures = Figures {
        claims: [Samples::default(), Samples::default()],
        enqueues: [Samples::default(), Samples::default()],
    };
    let request = ClaimRequest::new("bench", 1);
    for _ in 0..rounds {
        for (i, (store, path)) in stores.iter().enumerate() {
            let started = Instant::now();
            for _ in 0..n {
                if store.claim(&request).await?.len() != 1 {
                    return Err("a claim found no job".into());
                }
            }
            figures.claims[i]
                .0
                .push(n as f64 / started.elapsed().as_secs_f64());
            // The enqueues put back what the claims took: the depth holds.
            let started = Instant::now();
            for job in crate::noop::jobs(n) {
                store.create(job).await?;
            }
            figures.enqueues[i]
                .0
                .push(n as f64 / started.elapsed().as_secs_f64());
            checkpoint(path)?;
        }
    }
    Ok(figures)
}
