//! The dashboard's first load on a database with many jobs: how long the
//! server takes to answer every request a browser makes to show the jobs
//! page (the page, its script and styles, the counts, the first page of
//! jobs, the charts' activity, the queues, and the change stream's first
//! event).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl, SqliteConnection};
use jobstore::http::HttpState;
use jobstore::JobStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::process::fill;
use crate::stats::Samples;
use crate::BenchResult;

/// What a first load cost on the server: the sum of every request's time,
/// and the slowest request's.
pub struct FirstLoad {
    /// Milliseconds, summed over the load's requests, one sample per load.
    pub total_ms: Samples,
    /// Milliseconds of the slowest request of each load.
    pub slowest_ms: Samples,
    /// The slowest request's path (of the last load).
    pub slowest: String,
}

/// The requests of one load, as the page makes them: the page, then its
/// assets, then what its script reads.
const LOAD: [(&str, &str); 7] = [
    ("", "text/html"),
    ("assets/app.js", "*/*"),
    ("assets/style.css", "text/css"),
    ("stats", "application/json"),
    ("jobs?limit=50", "application/json"),
    ("stats/activity?range=hour", "application/json"),
    ("queues", "application/json"),
];

/// Spreads the jobs over the last day, three queues, and the statuses a
/// busy day leaves: 80% completed, 10% failed, 10% pending.
fn age_jobs(path: &Path) -> Result<(), String> {
    let url = path.to_str().ok_or("the path is not UTF-8")?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp_millis();
    diesel::sql_query("PRAGMA busy_timeout = 30000")
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    diesel::sql_query(format!(
        "UPDATE jobs SET \
           queue = CASE rowid % 3 WHEN 0 THEN 'default' WHEN 1 THEN 'video' ELSE 'mail' END, \
           created_at = {now} - rowid * 850, run_at = {now} - rowid * 850, \
           status = CASE rowid % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'pending' ELSE 'completed' END, \
           attempt = CASE rowid % 10 WHEN 1 THEN 0 ELSE 1 END, \
           started_at = CASE rowid % 10 WHEN 1 THEN NULL ELSE {now} - rowid * 850 + rowid % 700 END, \
           completed_at = CASE rowid % 10 WHEN 1 THEN NULL ELSE {now} - rowid * 850 + rowid % 700 + 20 END, \
           error = CASE rowid % 10 WHEN 0 THEN 'connection refused' ELSE NULL END, \
           result = CASE WHEN rowid % 10 > 1 THEN 'null' ELSE NULL END"
    ))
    .execute(&mut conn)
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// `loads` first loads of the dashboard over a store at `path` (opened by
/// `open`) holding `jobs` jobs.
pub async fn first_load(
    store: Arc<dyn JobStore>,
    path: &Path,
    jobs: usize,
    loads: usize,
) -> BenchResult<FirstLoad> {
    fill(&*store, jobs).await?;
    age_jobs(path)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(jobstore::http::serve(
        listener,
        HttpState::new(store),
        shutdown.clone(),
    ));
    let client = reqwest::Client::new();
    let (mut total_ms, mut slowest_ms, mut slowest) = (Vec::new(), Vec::new(), String::new());
    for _ in 0..loads {
        let mut sum = Duration::ZERO;
        let mut worst = (Duration::ZERO, "");
        for (path, accept) in LOAD {
            let started = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .header("Accept", accept)
                .send()
                .await?;
            if !response.status().is_success() {
                return Err(format!("GET /{path}: {}", response.status()).into());
            }
            response.bytes().await?;
            let took = started.elapsed();
            sum += took;
            if took > worst.0 {
                worst = (took, path);
            }
        }
        // The change stream: until its first event (the counts) arrives.
        let started = Instant::now();
        let response = client
            .get(format!("{base}events"))
            .header("Accept", "text/event-stream")
            .send()
            .await?;
        let mut response = response;
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains("\n\n") {
            match response.chunk().await? {
                Some(chunk) => seen.extend_from_slice(&chunk),
                None => return Err("the change stream ended before its first event".into()),
            }
        }
        drop(response);
        let took = started.elapsed();
        sum += took;
        if took > worst.0 {
            worst = (took, "events");
        }
        total_ms.push(sum.as_secs_f64() * 1000.0);
        slowest_ms.push(worst.0.as_secs_f64() * 1000.0);
        slowest = format!("/{}", worst.1);
    }
    shutdown.cancel();
    server.await??;
    Ok(FirstLoad {
        total_ms: Samples(total_ms),
        slowest_ms: Samples(slowest_ms),
        slowest,
    })
}
