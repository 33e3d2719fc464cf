//! jobstore's benchmark: enqueue, processing throughput, idle pickup
//! latency, claims against queue depth and worker memory, on the
//! Diesel/SQLite and libSQL backends, side by side with raw SQLite and
//! effectum (built from `benches/peers/`), all in one run.
//!
//! `cargo bench --bench jobstore` runs it in full and rewrites
//! `BENCHMARKS.md` and `benches/throughput.png`. Without `--bench` (as
//! `cargo test` runs it) it is a quick smoke pass with small counts that
//! writes its report under the target directory and asserts no speed.
//! `--only SECTION` (enqueue, process, pickup, claims, memory, remote),
//! `--runs N`, `--backend sqlite|libsql`, `--concurrency N` and
//! `--no-peers` narrow a run (an unknown section or backend is an error); a
//! narrowed full run writes under the target directory too.
//!
//! The `remote` section starts a libSQL server of its own (`sqld`, through
//! `.ci/start-sqld`) and puts it at a distance with a delaying proxy.

mod backend;
mod chart;
mod claims;
mod dashboard;
mod document;
mod enqueue;
mod memory;
mod noop;
mod peers;
mod pickup;
mod process;
mod pruned;
mod remote;
mod report;
mod running;
mod settings;
mod stats;
mod suite;
mod targets;
mod wake;

use std::path::{Path, PathBuf};
use std::time::Instant;

use backend::Backend;
use jobstore::worker::WorkerConfig;
use settings::Settings;

/// Any error of the bench, reported with its message.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1..]).await;
    }
    let started = Instant::now();
    let settings = Settings::from_args(&args)?;
    println!(
        "jobstore bench: {} run ({} jobs per figure, {} run(s) each)",
        if settings.full { "full" } else { "quick smoke" },
        settings.jobs,
        settings.runs
    );
    let peers = if settings.peers {
        Some(peers::Peers::build(settings.full)?)
    } else {
        None
    };
    let dir = tempfile::tempdir()?;
    // tmpfs, where the machine has it, for the figures without disk I/O.
    let memory_dir = tempfile::tempdir_in("/dev/shm").ok();
    let mut suite = suite::Suite::new(
        &settings,
        peers.as_ref(),
        dir.path(),
        memory_dir.as_ref().map(|d| d.path()),
    );
    suite.run().await?;
    let report = suite.report;

    let poll_ms = WorkerConfig::default().poll_interval.as_secs_f64() * 1000.0;
    let targets = targets::evaluate(&report, poll_ms);
    println!();
    for t in &targets {
        let verdict = if t.met() { "met" } else { "MISSED" };
        println!(
            "{verdict:<6} {:.2} (at least {:.2}) {}",
            t.ratio, t.required, t.name
        );
    }

    let (document, chart) = outputs(&settings)?;
    chart::draw(&chart, &settings.levels, &series(&report, &settings.levels))?;
    let chart_link = chart_link(&document, &chart);
    let seconds = started.elapsed().as_secs_f64();
    document::write(
        &document,
        &settings,
        &report,
        &targets,
        &chart_link,
        seconds,
    )?;
    println!(
        "\nwrote {} and {} in {seconds:.0} s",
        document.display(),
        chart.display()
    );
    Ok(())
}

/// Where the document and the chart go: the repository for a whole full
/// run, the target directory otherwise.
fn outputs(settings: &Settings) -> BenchResult<(PathBuf, PathBuf)> {
    if settings.whole() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        return Ok((
            root.join("BENCHMARKS.md"),
            root.join("benches/throughput.png"),
        ));
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench");
    std::fs::create_dir_all(&dir)?;
    Ok((dir.join("BENCHMARKS.md"), dir.join("throughput.png")))
}

/// The chart's path as written in the document.
fn chart_link(document: &Path, chart: &Path) -> String {
    let base = document.parent().unwrap_or(Path::new(""));
    chart
        .strip_prefix(base)
        .unwrap_or(chart)
        .display()
        .to_string()
}

/// Throughput by concurrency for every subject measured at every level.
fn series(report: &report::Report, levels: &[u32]) -> Vec<chart::Series> {
    report::SUBJECTS
        .iter()
        .filter_map(|subject| {
            let points: Option<Vec<(u32, f64)>> = levels
                .iter()
                .map(|c| Some((*c, report.median(&suite::names::processing(*c), subject)?)))
                .collect();
            let label = match *subject {
                "raw SQLite" => {
                    "raw SQLite (as many jobs per transaction as the concurrency)".to_string()
                }
                other => other.to_string(),
            };
            Some(chart::Series {
                label,
                points: points?,
            })
        })
        .collect()
}

/// The helper processes the bench starts from its own binary:
/// `child enqueue-probes` and `child worker` (optionally with
/// `--concurrency N`), each with `--backend B --db PATH --count N`, and `child remote-worker --url URL
/// --count CONCURRENCY`.
async fn child(args: &[String]) -> BenchResult<()> {
    let value = |flag: &str| -> BenchResult<&str> {
        let at = args
            .iter()
            .position(|a| a == flag)
            .ok_or_else(|| format!("child: {flag} missing"))?;
        Ok(args
            .get(at + 1)
            .ok_or_else(|| format!("child: {flag} needs a value"))?)
    };
    if args.first().map(String::as_str) == Some("remote-worker") {
        let concurrency: usize = value("--count")?.parse()?;
        return remote::run_worker(value("--url")?, concurrency).await;
    }
    let backend = Backend::parse(value("--backend")?)?;
    let path = PathBuf::from(value("--db")?);
    let count: usize = value("--count")?.parse()?;
    match args.first().map(String::as_str) {
        Some("enqueue-probes") => {
            let pause = match args.iter().position(|a| a == "--pause-ms") {
                Some(_) => Some(std::time::Duration::from_millis(
                    value("--pause-ms")?.parse()?,
                )),
                None => None,
            };
            pickup::enqueue_probes(backend, &path, count, pause).await
        }
        Some("worker") => {
            let concurrency = match args.iter().position(|a| a == "--concurrency") {
                Some(_) => Some(value("--concurrency")?.parse()?),
                None => None,
            };
            memory::run_worker(backend, &path, count, concurrency).await
        }
        Some("cancel-probes") => wake::cancel_probes(backend, &path, count).await,
        Some("progress-probes") => {
            let job = value("--job")?.parse()?;
            wake::progress_probes(backend, &path, count, job).await
        }
        Some("idle-worker") => wake::idle_worker(backend, &path).await,
        other => Err(format!("unknown child mode {other:?}").into()),
    }
}
