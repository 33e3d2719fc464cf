//! Over a libSQL server: a real `sqld` on 127.0.0.1 behind a proxy that
//! delays each direction by half a round trip. Workers run in processes of
//! their own (the bench's own binary, `child remote-worker`), as workers on
//! other machines would; the bench fills the queue and reads the results
//! directly, not through the proxy.

// Shared with the tests, which use more of them.
#[allow(dead_code)]
#[path = "../../tests/support/latency_proxy.rs"]
mod latency_proxy;
#[allow(dead_code)]
#[path = "../../tests/support/sqld.rs"]
pub mod sqld;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jobstore::worker::{Worker, WorkerConfig};
use jobstore::{JobStore, LibsqlStore, NewJob};
use tokio::io::AsyncReadExt;

use crate::noop::{self, Counter};
use crate::pickup;
use crate::BenchResult;
use latency_proxy::LatencyProxy;
use sqld::Sqld;

/// One processing measurement over the server.
#[derive(Clone, Debug)]
pub struct Processing {
    /// Jobs per second, first claim to last completion.
    pub per_sec: f64,
    /// HTTP requests the workers sent, per job.
    pub requests_per_job: f64,
    /// TCP connections the workers opened.
    pub connections: u64,
}

/// The rows of the SQL `sql` as the server returns them (JSON values).
async fn query(url: &str, sql: &str) -> BenchResult<Vec<Vec<serde_json::Value>>> {
    let body = serde_json::json!({
        "baton": null,
        "requests": [{ "type": "execute", "stmt": { "sql": sql } }, { "type": "close" }],
    });
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/v3/pipeline"))
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let result = &answer["results"][0];
    if result["type"] != "ok" {
        return Err(format!("{sql}: {result}").into());
    }
    let rows = result["response"]["result"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|row| row.as_array().cloned().unwrap_or_default())
        .collect())
}

/// An integer the server returned (`{"type": "integer", "value": "42"}`).
fn integer(value: &serde_json::Value) -> Option<i64> {
    value["value"].as_str()?.parse().ok()
}

/// Empties the queue.
async fn empty(url: &str) -> BenchResult<()> {
    query(url, "DELETE FROM jobs").await?;
    Ok(())
}

/// Milliseconds from the first claim to the last completion.
async fn claim_to_completion_ms(url: &str) -> BenchResult<i64> {
    let rows = query(url, "SELECT min(started_at), max(completed_at) FROM jobs").await?;
    let row = rows.first().ok_or("no span")?;
    match (row.first().and_then(integer), row.get(1).and_then(integer)) {
        (Some(first), Some(last)) => Ok((last - first).max(1)),
        _ => Err("no job was claimed and completed".into()),
    }
}

/// Starts a server of the bench's own.
pub fn start_server() -> BenchResult<Sqld> {
    Ok(Sqld::start()?)
}

/// Jobs per second that `workers` worker processes of `concurrency`
/// process from a queue of `jobs` no-op jobs, through a proxy adding a
/// round trip of `rtt`.
pub async fn process(
    server: &Sqld,
    rtt: Duration,
    workers: usize,
    concurrency: usize,
    jobs: usize,
) -> BenchResult<Processing> {
    let store = LibsqlStore::open_remote(server.url(), "").await?;
    empty(&server.url()).await?;
    let mut left = jobs;
    while left > 0 {
        let n = left.min(500);
        store.create_many(noop::jobs(n)).await?;
        left -= n;
    }
    let proxy = LatencyProxy::start(server.addr(), rtt / 2).await?;
    let mut children = Vec::with_capacity(workers);
    for _ in 0..workers {
        children.push(
            tokio::process::Command::new(std::env::current_exe()?)
                .args(["child", "remote-worker", "--url", &proxy.url(), "--count"])
                .arg(concurrency.to_string())
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()?,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let counts = store.count_by_status().await?;
        if counts.completed == jobs as u64 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {jobs} jobs completed in 10 minutes",
                counts.completed
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut requests = 0;
    for mut child in children {
        if let Some(pid) = child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout.read_to_string(&mut out).await?;
        }
        let status = child.wait().await?;
        if !status.success() {
            return Err(format!("a remote worker ended with {status}").into());
        }
        requests += out
            .lines()
            .find_map(|l| l.strip_prefix("requests="))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .ok_or("a remote worker did not say how many requests it sent")?;
    }
    let ms = claim_to_completion_ms(&server.url()).await?;
    Ok(Processing {
        per_sec: jobs as f64 * 1000.0 / ms as f64,
        requests_per_job: requests as f64 / jobs as f64,
        connections: proxy.connections_accepted(),
    })
}

/// The worker process: runs no-op jobs from the server at `url` with
/// `concurrency` until SIGTERM, then prints how many requests it sent.
pub async fn run_worker(url: &str, concurrency: usize) -> BenchResult<()> {
    let store = Arc::new(LibsqlStore::open_remote(url, "").await?);
    let config = WorkerConfig {
        concurrency,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(
        Arc::clone(&store) as Arc<dyn JobStore>,
        noop::registry(Counter::until(u64::MAX))?,
        config,
    )?;
    worker.run_until_signal().await?;
    println!("requests={}", store.requests_sent().unwrap_or(0));
    Ok(())
}

/// Jobs per second one caller enqueues through a proxy adding `rtt`,
/// `batch` jobs per call.
pub async fn enqueue(server: &Sqld, rtt: Duration, jobs: usize, batch: usize) -> BenchResult<f64> {
    empty(&server.url()).await?;
    let proxy = LatencyProxy::start(server.addr(), rtt / 2).await?;
    let store = LibsqlStore::open_remote(proxy.url(), "").await?;
    let batches: Vec<Vec<NewJob>> = noop::jobs(jobs)
        .chunks(batch)
        .map(<[NewJob]>::to_vec)
        .collect();
    let started = Instant::now();
    for chunk in batches {
        if chunk.len() == 1 {
            store
                .create(chunk.into_iter().next().ok_or("empty")?)
                .await?;
        } else {
            store.create_many(chunk).await?;
        }
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}

/// Milliseconds from enqueue to the handler's start over a proxy adding
/// `rtt`, `samples` times: enqueued through the idle worker itself (which
/// wakes it at once) or by another client (which the worker finds on its
/// next poll).
pub async fn pickup(
    server: &Sqld,
    rtt: Duration,
    samples: usize,
) -> BenchResult<(Vec<f64>, Vec<f64>)> {
    empty(&server.url()).await?;
    let proxy = LatencyProxy::start(server.addr(), rtt / 2).await?;
    let store: Arc<dyn JobStore> = Arc::new(LibsqlStore::open_remote(proxy.url(), "").await?);
    let (worker, mut reports) = pickup::probe_worker(store)?;
    let running = crate::running::Running::start(&worker);
    let other: Arc<dyn JobStore> = Arc::new(LibsqlStore::open_remote(proxy.url(), "").await?);
    let mut through_worker = Vec::with_capacity(samples);
    let mut from_elsewhere = Vec::with_capacity(samples);
    for _ in 0..samples {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(50..=250))).await;
        let enqueued = Instant::now();
        worker.enqueue(pickup::probe_job()).await?;
        let (started, _) = reports.recv().await.ok_or("the worker stopped")?;
        through_worker.push(started.duration_since(enqueued).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(fastrand::u64(50..=250))).await;
        other.create(pickup::probe_job()).await?;
        let (_, since_sent) = reports.recv().await.ok_or("the worker stopped")?;
        from_elsewhere.push(since_sent.ok_or("no enqueue time")?);
    }
    running.stop().await?;
    Ok((through_worker, from_elsewhere))
}
