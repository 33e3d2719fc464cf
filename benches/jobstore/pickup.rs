//! Idle pickup latency: from enqueue to the handler's start, with the
//! worker idle, the job enqueued in the worker's own process (which wakes
//! it) or by another process (which it finds on its next poll).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::NewJob;
use tokio::sync::mpsc;

use crate::backend::Backend;
use crate::running::Running;
use crate::BenchResult;

const PROBE: &str = "probe";

/// Reports when it starts: the instant, and the milliseconds since the
/// wall-clock time its enqueuer wrote into its params (if any).
struct Probe(mpsc::UnboundedSender<(Instant, Option<f64>)>);

#[async_trait]
impl JobType for Probe {
    const NAME: &'static str = PROBE;
    type Params = serde_json::Value;
    type Output = ();

    async fn run(&self, params: serde_json::Value, _ctx: &JobContext) -> Result<(), JobError> {
        let started = Instant::now();
        let since_sent = params["sent_us"]
            .as_u64()
            .map(|sent| (unix_micros() as f64 - sent as f64) / 1000.0);
        let _ = self.0.send((started, since_sent));
        Ok(())
    }
}

/// Microseconds since the Unix epoch, by the wall clock shared by every
/// process of the machine.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A job carrying the wall-clock time it was enqueued.
pub fn probe_job() -> NewJob {
    NewJob::new(PROBE, serde_json::json!({ "sent_us": unix_micros() }))
}

/// Where a probe's start reports arrive: when it started, and the
/// milliseconds since its enqueuer's wall-clock time (if it carried one).
pub type Reports = mpsc::UnboundedReceiver<(Instant, Option<f64>)>;

/// A worker with default settings on `store` running probes, and the
/// receiver of their start reports.
pub fn probe_worker(store: Arc<dyn jobstore::JobStore>) -> BenchResult<(Worker, Reports)> {
    let (started, reports) = mpsc::unbounded_channel();
    let mut registry = Registry::new();
    registry.register(Probe(started))?;
    Ok((
        Worker::new(store, registry, WorkerConfig::default())?,
        reports,
    ))
}

/// An idle worker with default settings on a fresh store at `path`, and
/// the receiver of its probes' start reports.
async fn idle_worker(backend: Backend, path: &Path) -> BenchResult<(Worker, Reports)> {
    probe_worker(backend.open(path).await?)
}

/// Milliseconds from `worker.enqueue` to the handler's start, `samples`
/// times, with a short random idle pause before each.
pub async fn same_process(backend: Backend, path: &Path, samples: usize) -> BenchResult<Vec<f64>> {
    let (worker, mut reports) = idle_worker(backend, path).await?;
    let running = Running::start(&worker);
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(2..=10))).await;
        let enqueued = Instant::now();
        worker
            .enqueue(NewJob::new(PROBE, serde_json::json!({})))
            .await?;
        let (started, _) = reports.recv().await.ok_or("the worker stopped")?;
        latencies.push(started.duration_since(enqueued).as_secs_f64() * 1000.0);
    }
    running.stop().await?;
    Ok(latencies)
}

/// Milliseconds from another process's enqueue (its wall-clock time, in
/// the job) to the handler's start, `samples` times; the other process
/// pauses `pause` before each job (a random 50 to 250 ms for `None`), so
/// the worker has been idle that long.
pub async fn other_process(
    backend: Backend,
    path: &Path,
    samples: usize,
    pause: Option<Duration>,
) -> BenchResult<Vec<f64>> {
    let (worker, mut reports) = idle_worker(backend, path).await?;
    let running = Running::start(&worker);
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .args([
            "child",
            "enqueue-probes",
            "--backend",
            backend.name(),
            "--count",
        ])
        .arg(samples.to_string())
        .arg("--db")
        .arg(path);
    if let Some(pause) = pause {
        command.arg("--pause-ms").arg(pause.as_millis().to_string());
    }
    let mut enqueuer = command.stdout(Stdio::null()).kill_on_drop(true).spawn()?;
    let wait = pause.unwrap_or_default() + Duration::from_secs(60);
    let mut latencies = Vec::with_capacity(samples);
    while latencies.len() < samples {
        let report = tokio::time::timeout(wait, reports.recv()).await;
        let Ok(Some((_, Some(ms)))) = report else {
            return Err("no probe from the other process in time".into());
        };
        latencies.push(ms);
    }
    let status = enqueuer.wait().await?;
    if !status.success() {
        return Err(format!("the enqueuing process ended with {status}").into());
    }
    running.stop().await?;
    Ok(latencies)
}

/// The other process: enqueues `count` probe jobs, pausing `pause` (a
/// random 50 to 250 ms for `None`) before each.
pub async fn enqueue_probes(
    backend: Backend,
    path: &Path,
    count: usize,
    pause: Option<Duration>,
) -> BenchResult<()> {
    let store: Arc<dyn jobstore::JobStore> = backend.open(path).await?;
    for _ in 0..count {
        let wait = pause.unwrap_or_else(|| Duration::from_millis(fastrand::u64(50..=250)));
        tokio::time::sleep(wait).await;
        store.create(probe_job()).await?;
    }
    Ok(())
}
