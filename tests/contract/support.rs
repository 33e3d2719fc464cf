//! Fresh stores for the contract tests, each on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use jobstore::{
    ClaimRequest, Claimed, Job, JobStore, ManualClock, MemoryStore, NewJob, SqliteConfig,
    SqliteStore,
};
use serde_json::json;

/// A store under test, the clock it reads, and whatever keeps it alive.
pub struct Harness {
    pub store: Arc<dyn JobStore>,
    pub clock: ManualClock,
    _dir: Option<tempfile::TempDir>,
}

/// The instant every harness clock starts at.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("valid start instant")
}

pub async fn memory() -> Harness {
    let clock = ManualClock::new(start());
    Harness {
        store: Arc::new(MemoryStore::with_clock(Arc::new(clock.clone()))),
        clock,
        _dir: None,
    }
}

pub async fn sqlite() -> Harness {
    let clock = ManualClock::new(start());
    let dir = tempfile::tempdir().expect("temp dir");
    let config = SqliteConfig::new(dir.path().join("jobs.db")).clock(Arc::new(clock.clone()));
    let store = SqliteStore::open_with(config)
        .await
        .expect("open sqlite store");
    Harness {
        store: Arc::new(store),
        clock,
        _dir: Some(dir),
    }
}

impl Harness {
    /// Creates one job of `job_type` with `{"n": n}` params.
    pub async fn job(&self, job_type: &str, n: u64) -> Job {
        self.store
            .create(NewJob::new(job_type, json!({ "n": n })))
            .await
            .expect("create job")
    }

    /// Claims exactly one job as `worker`.
    pub async fn claim_one(&self, worker: &str) -> Claimed {
        let mut claimed = self
            .store
            .claim(&ClaimRequest::new(worker, 1))
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1, "expected one claimable job");
        claimed.remove(0)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock
            .advance(chrono::Duration::from_std(by).expect("duration in range"));
    }
}
