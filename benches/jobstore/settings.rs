//! How big a run is: the full benchmark, or the quick smoke pass.

use crate::backend::Backend;

/// The sizes and options of one run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The full benchmark (`cargo bench`), which rewrites BENCHMARKS.md.
    pub full: bool,
    /// Repetitions of each throughput and memory measurement.
    pub runs: usize,
    /// Jobs per enqueue and processing measurement.
    pub jobs: usize,
    /// Jobs per measurement of effectum as shipped (without WAL every
    /// commit waits for the disk: a tenth of `jobs` keeps its runs short).
    pub shipped_jobs: usize,
    /// Worker concurrencies measured.
    pub levels: Vec<u32>,
    /// Pickup samples with the enqueue in the worker's process.
    pub pickups: usize,
    /// Pickup samples with the enqueue in another process.
    pub remote_pickups: usize,
    /// The shallow and the deep queue claims are measured against.
    pub queue_depths: [usize; 2],
    /// Claims measured at each depth in each round (`runs` × 5 rounds per
    /// depth, taking turns, on one filled file per depth).
    pub claims: usize,
    /// Jobs in the database the dashboard's first load is measured on.
    pub dashboard_jobs: usize,
    /// Jobs the worker processes while its memory is sampled.
    pub memory_jobs: usize,
    /// Whether to build and measure the baselines.
    pub peers: bool,
    /// Measure only this section (one of [`SECTIONS`]).
    pub only: Option<String>,
    /// The backends measured (`--backend NAME` narrows to one).
    pub backends: Vec<Backend>,
    /// Round trips (ms) of the server measurements (section `remote`).
    pub round_trips: Vec<u64>,
    /// Seconds of work each server processing figure is sized for.
    pub remote_seconds: f64,
    /// Pickup samples over the server.
    pub server_pickups: usize,
    /// Pickups from another process after each idle pause (seconds, samples).
    pub idle_pickups: Vec<(u64, usize)>,
    /// Cancels from another process timed down to the child's death.
    pub cancels: usize,
    /// Progress events from another process timed on a job's stream.
    pub stream_events: usize,
    /// How long an idle worker's CPU use is measured.
    pub idle_window: std::time::Duration,
}

/// The sections of a run, in order.
pub const SECTIONS: [&str; 9] = [
    "enqueue",
    "process",
    "pickup",
    "wake",
    "claims",
    "pruned",
    "dashboard",
    "memory",
    "remote",
];

impl Settings {
    /// The settings the command line asks for: full under `cargo bench`
    /// (which passes `--bench`), quick otherwise or with `--quick`;
    /// `--runs N`, `--only SECTION`, `--backend NAME`, `--concurrency N`
    /// and `--no-peers` adjust either (to profile one figure, say).
    pub fn from_args(args: &[String]) -> Result<Settings, String> {
        let full = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--quick");
        let mut settings = if full {
            Settings::full()
        } else {
            Settings::quick()
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--runs" => {
                    let value = args.next().ok_or("--runs needs a number")?;
                    settings.runs = value
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--runs {value:?}: not a positive number"))?;
                }
                "--only" => {
                    let section = args.next().ok_or("--only needs a section")?;
                    if !SECTIONS.contains(&section.as_str()) {
                        return Err(format!(
                            "--only {section:?}: no such section; the sections are {}",
                            SECTIONS.join(", ")
                        ));
                    }
                    settings.only = Some(section.clone())
                }
                "--backend" => {
                    let name = args.next().ok_or("--backend needs a backend's name")?;
                    settings.backends = vec![Backend::parse(name)?];
                }
                "--concurrency" => {
                    let value = args.next().ok_or("--concurrency needs a number")?;
                    let level =
                        value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                            format!("--concurrency {value:?}: not a positive number")
                        })?;
                    settings.levels = vec![level];
                }
                "--no-peers" => settings.peers = false,
                _ => {}
            }
        }
        Ok(settings)
    }

    fn full() -> Settings {
        Settings {
            full: true,
            runs: 3,
            jobs: 20_000,
            shipped_jobs: 2_000,
            levels: vec![1, 4, 16],
            pickups: 200,
            remote_pickups: 40,
            queue_depths: [1_000, 1_000_000],
            claims: 1_000,
            dashboard_jobs: 100_000,
            memory_jobs: 1_000_000,
            peers: true,
            only: None,
            backends: Backend::ALL.to_vec(),
            round_trips: vec![0, 20, 50],
            remote_seconds: 4.0,
            server_pickups: 40,
            idle_pickups: vec![(1, 30), (60, 5)],
            cancels: 40,
            stream_events: 200,
            idle_window: std::time::Duration::from_secs(30),
        }
    }

    fn quick() -> Settings {
        Settings {
            full: false,
            runs: 1,
            jobs: 300,
            shipped_jobs: 50,
            levels: vec![1, 4, 16],
            pickups: 10,
            remote_pickups: 3,
            queue_depths: [200, 2_000],
            claims: 100,
            dashboard_jobs: 2_000,
            memory_jobs: 1_000,
            peers: true,
            only: None,
            backends: Backend::ALL.to_vec(),
            round_trips: vec![0],
            remote_seconds: 0.05,
            server_pickups: 2,
            idle_pickups: vec![(1, 2)],
            cancels: 3,
            stream_events: 10,
            idle_window: std::time::Duration::from_secs(2),
        }
    }

    /// Whether this is the whole full run, the one whose report goes into
    /// the repository (no section, backend, concurrency or peer left out).
    pub fn whole(&self) -> bool {
        self.full
            && self.only.is_none()
            && self.peers
            && self.backends == Backend::ALL
            && self.levels == Settings::full().levels
    }

    /// Whether `section` is measured in this run.
    pub fn measures(&self, section: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == section)
    }
}
