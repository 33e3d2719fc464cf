//! Fresh stores for the contract tests, each on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use jobstore::{
    ClaimRequest, Claimed, Job, JobStore, ManualClock, MemoryStore, NewJob, SqliteConfig,
    SqliteStore,
};
#[cfg(feature = "libsql")]
use jobstore::{LibsqlConfig, LibsqlStore};
use serde_json::json;

/// A store under test, the clock it reads, and whatever keeps it alive.
pub struct Harness {
    pub store: Arc<dyn JobStore>,
    pub clock: ManualClock,
    _dir: Option<tempfile::TempDir>,
    _exclusive: Option<tokio::sync::MutexGuard<'static, ()>>,
    #[cfg(feature = "libsql")]
    _proxy: Option<crate::latency_proxy::LatencyProxy>,
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
        _exclusive: None,
        #[cfg(feature = "libsql")]
        _proxy: None,
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
        _exclusive: None,
        #[cfg(feature = "libsql")]
        _proxy: None,
    }
}

#[cfg(feature = "libsql")]
pub async fn libsql() -> Harness {
    let clock = ManualClock::new(start());
    let dir = tempfile::tempdir().expect("temp dir");
    let config = LibsqlConfig::local(dir.path().join("jobs.db")).clock(Arc::new(clock.clone()));
    let store = LibsqlStore::open_with(config)
        .await
        .expect("open libsql store");
    Harness {
        store: Arc::new(store),
        clock,
        _dir: Some(dir),
        _exclusive: None,
        #[cfg(feature = "libsql")]
        _proxy: None,
    }
}

/// The round trip `JOBSTORE_TEST_LIBSQL_RTT_MS` asks the remote suite to
/// run at (through a delaying proxy), if any.
#[cfg(feature = "libsql")]
fn round_trip() -> Option<Duration> {
    let ms: u64 = std::env::var("JOBSTORE_TEST_LIBSQL_RTT_MS")
        .ok()?
        .parse()
        .expect("JOBSTORE_TEST_LIBSQL_RTT_MS: a number of milliseconds");
    Some(Duration::from_millis(ms))
}

/// A harness on the remote server (see [`crate::sqld::shared`]), which
/// every test shares: tests take turns, and each starts from empty tables.
/// With `JOBSTORE_TEST_LIBSQL_RTT_MS`, the store reaches the server
/// through a proxy that adds that round trip.
#[cfg(feature = "libsql")]
pub async fn libsql_remote() -> Harness {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let (url, token) = tokio::task::spawn_blocking(crate::sqld::shared)
        .await
        .expect("the server");
    let turn = TURN.lock().await;
    let clock = ManualClock::new(start());
    let proxy = match round_trip() {
        Some(rtt) => {
            let addr = url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .parse()
                .expect("a delaying proxy needs an http://IP:PORT server URL");
            Some(
                crate::latency_proxy::LatencyProxy::start(addr, rtt / 2)
                    .await
                    .expect("start the proxy"),
            )
        }
        None => None,
    };
    let store_url = proxy.as_ref().map_or_else(|| url.clone(), |p| p.url());
    let config = LibsqlConfig::remote(store_url, token.clone()).clock(Arc::new(clock.clone()));
    let store = LibsqlStore::open_with(config)
        .await
        .expect("open remote libsql store");
    empty_remote_tables(&url, &token).await;
    Harness {
        store: Arc::new(store),
        clock,
        _dir: None,
        _exclusive: Some(turn),
        _proxy: proxy,
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

/// Deletes every job and schedule on the remote server, through its HTTP
/// protocol (one pipeline request).
#[cfg(feature = "libsql")]
pub async fn empty_remote_tables(url: &str, token: &str) {
    let url = format!("{}/v3/pipeline", url.trim_end_matches('/'));
    let execute = |sql: &str| json!({ "type": "execute", "stmt": { "sql": sql } });
    let body = json!({
        "baton": null,
        "requests": [execute("DELETE FROM jobs"), execute("DELETE FROM job_attempts"), execute("DELETE FROM cron_jobs"), execute("DELETE FROM queues"), execute("DELETE FROM workers"), { "type": "close" }],
    });
    let mut request = reqwest::Client::new().post(url).json(&body);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let answer: serde_json::Value = request
        .send()
        .await
        .expect("reach the server")
        .json()
        .await
        .expect("a JSON answer");
    let results = answer["results"].as_array().expect("results");
    assert!(
        results.iter().all(|r| r["type"] == "ok"),
        "emptying the tables failed: {answer}"
    );
}
