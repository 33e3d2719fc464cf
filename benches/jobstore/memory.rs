//! The worker's resident memory while it processes many jobs, measured in
//! a process of its own that runs nothing but the worker.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use jobstore::worker::{Worker, WorkerConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::backend::Backend;
use crate::noop::{self, Counter};
use crate::process::fill;
use crate::running::Running;
use crate::BenchResult;

/// Resident set sizes of the worker process, in MiB.
#[derive(Clone, Copy, Debug)]
pub struct MemoryProfile {
    /// Once a tenth of the jobs were processed.
    pub at_tenth: f64,
    /// Once every job was processed.
    pub at_end: f64,
    /// The most the process ever held (VmHWM).
    pub peak: f64,
}

/// Fills a fresh store at `path` with `jobs` jobs, then runs a worker with
/// default settings over them in another process, sampling its memory.
pub async fn worker_profile(
    backend: Backend,
    path: &Path,
    jobs: usize,
) -> BenchResult<MemoryProfile> {
    {
        let store = backend.open(path).await?;
        fill(&*store, jobs).await?;
    }
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["child", "worker", "--backend", backend.name(), "--count"])
        .arg(jobs.to_string())
        .arg("--db")
        .arg(path)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from the worker")?;
    let mut lines = BufReader::new(stdout).lines();
    let (mut at_tenth, mut at_end, mut peak) = (None, None, None);
    while let Some(line) = lines.next_line().await? {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["rss", runs, kib] => {
                let (runs, mib) = (runs.parse::<usize>()?, kib.parse::<f64>()? / 1024.0);
                if at_tenth.is_none() && runs >= jobs / 10 {
                    at_tenth = Some(mib);
                }
                if runs >= jobs {
                    at_end = Some(mib);
                }
            }
            ["peak", kib] => peak = Some(kib.parse::<f64>()? / 1024.0),
            _ => return Err(format!("unexpected line from the worker: {line}").into()),
        }
    }
    let status = child.wait().await?;
    if !status.success() {
        return Err(format!("the worker process ended with {status}").into());
    }
    let counts = backend.open(path).await?.count_by_status().await?;
    if counts.completed != jobs as u64 {
        return Err(format!("{} of {jobs} jobs completed", counts.completed).into());
    }
    match (at_tenth, at_end, peak) {
        (Some(at_tenth), Some(at_end), Some(peak)) => Ok(MemoryProfile {
            at_tenth,
            at_end,
            peak,
        }),
        _ => Err("the worker did not report its memory".into()),
    }
}

/// The worker process: processes `count` jobs with default settings (but
/// `concurrency`, if given), printing `rss RUNS KIB` as it goes (every
/// tenth of a second) and `peak KIB` once done. Also a subject to profile
/// on its own (`child worker ... --concurrency N` on a filled file).
pub async fn run_worker(
    backend: Backend,
    path: &Path,
    count: usize,
    concurrency: Option<usize>,
) -> BenchResult<()> {
    let store = backend.open(path).await?;
    let counter = Counter::until(count as u64);
    let mut config = WorkerConfig::default();
    if let Some(concurrency) = concurrency {
        config.concurrency = concurrency;
    }
    let worker = Worker::new(Arc::clone(&store), noop::registry(counter.clone())?, config)?;
    let running = Running::start(&worker);
    loop {
        let runs = counter.runs();
        println!("rss {runs} {}", status_kib("VmRSS")?);
        if runs >= count as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await?;
    println!("peak {}", status_kib("VmHWM")?);
    Ok(())
}

/// A `kB` field of `/proc/self/status`.
fn status_kib(field: &str) -> BenchResult<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| format!("no value in {line:?}"))?;
    Ok(kib.parse()?)
}
