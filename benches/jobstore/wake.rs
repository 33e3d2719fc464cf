//! Between processes on one local database: how soon what one process
//! writes reaches the waiters of another (an idle worker after a long idle,
//! a running job's cancel down to its child, a job's event stream), and
//! what an idle worker costs.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jobstore::http::{HttpConfig, HttpState};
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::{JobId, JobStore, NewJob, Progress};
use tokio::io::AsyncReadExt;

use crate::backend::Backend;
use crate::pickup::unix_micros;
use crate::running::Running;
use crate::BenchResult;

const SLEEPER: &str = "sleeper";

/// Starts `sleep 600` as its child, says the child's pid as its stage, and
/// waits for it (until cancelled).
struct Sleeper;

#[async_trait]
impl JobType for Sleeper {
    const NAME: &'static str = SLEEPER;
    type Params = serde_json::Value;
    type Output = ();

    async fn run(&self, _: serde_json::Value, ctx: &JobContext) -> Result<(), JobError> {
        let mut child = ctx.spawn(tokio::process::Command::new("sleep").arg("600"))?;
        let pid = child.id().ok_or_else(|| JobError::permanent("no pid"))?;
        ctx.progress(&format!("pid={pid}"), None).await?;
        child.wait().await?;
        Ok(())
    }
}

/// Runs the bench's own binary as `child MODE --backend B --db PATH
/// --count N` (with `extra` arguments) and returns what it printed.
async fn run_child(
    mode: &str,
    backend: Backend,
    path: &Path,
    count: usize,
    extra: &[&str],
) -> BenchResult<String> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["child", mode, "--backend", backend.name(), "--count"])
        .arg(count.to_string())
        .arg("--db")
        .arg(path)
        .args(extra)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut out).await?;
    }
    let status = child.wait().await?;
    if !status.success() {
        return Err(format!("child {mode} ended with {status}: {out}").into());
    }
    Ok(out)
}

/// The numbers a child printed, one per line after `ms `.
fn latencies(out: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("ms "))
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

/// Milliseconds from another process's cancel request to the job's child
/// being dead, `samples` times; the worker here waits on the store's
/// change feed (its heartbeat is ten seconds away).
pub async fn cancel(backend: Backend, path: &Path, samples: usize) -> BenchResult<Vec<f64>> {
    let store = backend.open(path).await?;
    let mut registry = Registry::new();
    registry.register(Sleeper)?;
    let worker = Worker::new(store, registry, WorkerConfig::default())?;
    let running = Running::start(&worker);
    let out = run_child("cancel-probes", backend, path, samples, &[]).await?;
    running.stop().await?;
    let found = latencies(&out);
    if found.len() != samples {
        return Err(format!("{} of {samples} cancels measured: {out}", found.len()).into());
    }
    Ok(found)
}

/// Whether process `pid` is dead (gone, or exited and not yet reaped).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|at| stat[at + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

/// The canceller process: `count` times, enqueues a sleeper, waits until
/// its child runs, cancels it, and times how long the child lives on.
pub async fn cancel_probes(backend: Backend, path: &Path, count: usize) -> BenchResult<()> {
    let store = backend.open(path).await?;
    for _ in 0..count {
        let job = store
            .create(NewJob::new(SLEEPER, serde_json::json!({})))
            .await?;
        let pid: u32 = loop {
            let seen = store.get(job.id).await?;
            if let Some(pid) = seen
                .stage
                .as_deref()
                .and_then(|s| s.strip_prefix("pid="))
                .and_then(|p| p.parse().ok())
            {
                break pid;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        tokio::time::sleep(Duration::from_millis(fastrand::u64(50..=150))).await;
        let asked = Instant::now();
        store.cancel(job.id).await?;
        while !dead(pid) {
            std::thread::sleep(Duration::from_micros(200));
            if asked.elapsed() > Duration::from_secs(30) {
                return Err(format!("child {pid} still alive 30 s after the cancel").into());
            }
        }
        println!("ms {}", asked.elapsed().as_secs_f64() * 1000.0);
        // The job's end is written once its child is reaped.
        while !store.get(job.id).await?.status.is_terminal() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    Ok(())
}

/// Milliseconds from another process's progress report to the event on a
/// job's stream (`GET /jobs/{id}/events`), `samples` times.
pub async fn stream(backend: Backend, path: &Path, samples: usize) -> BenchResult<Vec<f64>> {
    let store: Arc<dyn JobStore> = backend.open(path).await?;
    let job = store
        .create(NewJob::new("reported", serde_json::json!({})))
        .await?;
    let state = HttpState::new(Arc::clone(&store))
        // Only the change feed can tell the stream in time.
        .config(HttpConfig::default().events_interval(Duration::from_secs(3600)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server =
        tokio::spawn(async move { axum::serve(listener, jobstore::http::router(state)).await });
    let mut events = reqwest::Client::new()
        .get(format!("http://{addr}/jobs/{}/events", job.id))
        .send()
        .await?;
    let mut reporter = tokio::spawn({
        let path = path.to_path_buf();
        let id = job.id.to_string();
        async move { run_child("progress-probes", backend, &path, samples, &["--job", &id]).await }
    });
    // The stream shows the job as it is when read after a commit, so a
    // report overwritten before the stream read it is not shown (under
    // load two can land within one read); the reporter completes the job
    // after its last report, and the stream ends with that. When the
    // reporter ended, the stream must end within 30 s: its keep-alives
    // alone must not keep this waiting.
    let mut reported: Option<Instant> = None;
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::with_capacity(samples);
    let mut buffer = String::new();
    loop {
        if reported.is_some_and(|at| at.elapsed() > Duration::from_secs(30)) {
            return Err(format!(
                "the stream did not end within 30 s of the reporter completing the job \
                 ({} of the {samples} progress reports shown)",
                found.len()
            )
            .into());
        }
        let chunk = tokio::select! {
            chunk = tokio::time::timeout(Duration::from_secs(30), events.chunk()) => chunk
                .map_err(|_| "no event within 30 s")??,
            ended = &mut reporter, if reported.is_none() => {
                // A reporter that failed is the error to tell.
                ended??;
                reported = Some(Instant::now());
                continue;
            }
        };
        let Some(chunk) = chunk else {
            break;
        };
        let now = unix_micros();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(sent) = event
                .find("\"stage\":\"t=")
                .and_then(|at| event[at + 11..].split('"').next())
                .and_then(|us| us.parse::<u64>().ok())
            {
                // The completed job's event repeats the last stage.
                if seen.insert(sent) {
                    found.push(now.saturating_sub(sent) as f64 / 1000.0);
                }
            }
        }
    }
    if reported.is_none() {
        reporter.await??;
    }
    server.abort();
    // Each report is shown unless the next overwrote it first; far fewer
    // means the stream was not told of commits.
    if found.len() * 2 < samples {
        return Err(format!(
            "the stream showed only {} of the {samples} progress reports",
            found.len()
        )
        .into());
    }
    Ok(found)
}

/// The reporting process: claims the job and reports `count` progress
/// stages carrying the wall-clock time they were written, a random 20 to
/// 60 ms apart, then completes the job.
pub async fn progress_probes(
    backend: Backend,
    path: &Path,
    count: usize,
    job: JobId,
) -> BenchResult<()> {
    let store = backend.open(path).await?;
    let claimed = store
        .claim_job(job, "reporter", Duration::from_secs(600))
        .await?;
    for _ in 0..count {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(20..=60))).await;
        let stage = format!("t={}", unix_micros());
        store
            .progress(&claimed.lease, &Progress::indeterminate(stage))
            .await?;
    }
    store
        .complete(&claimed.lease, serde_json::json!({}))
        .await?;
    Ok(())
}

/// Percent of one core an idle worker (default settings, in a process of
/// its own on a fresh store at `path`) used over `window`.
pub async fn idle_cpu(backend: Backend, path: &Path, window: Duration) -> BenchResult<f64> {
    backend.open(path).await?;
    let child = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "child",
            "idle-worker",
            "--backend",
            backend.name(),
            "--count",
            "0",
        ])
        .arg("--db")
        .arg(path)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("no pid")?;
    // Past its start (opening the store, migrating, the first poll).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cpu_ticks(pid)?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let used = cpu_ticks(pid)? - before;
    let elapsed = started.elapsed().as_secs_f64();
    drop(child);
    // Clock ticks are hundredths of a second on Linux.
    Ok(used as f64 / 100.0 / elapsed * 100.0)
}

/// User plus system clock ticks process `pid` used so far.
fn cpu_ticks(pid: u32) -> BenchResult<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rfind(')')
        .map(|at| stat[at + 1..].split_whitespace().collect())
        .ok_or("unreadable stat")?;
    // utime and stime are fields 14 and 15; after the name, 12 and 13.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

/// The idle worker process: a worker with default settings and nothing to
/// do, until killed.
pub async fn idle_worker(backend: Backend, path: &Path) -> BenchResult<()> {
    let store = backend.open(path).await?;
    let worker = Worker::new(store, Registry::new(), WorkerConfig::default())?;
    worker.run_until_signal().await?;
    Ok(())
}
