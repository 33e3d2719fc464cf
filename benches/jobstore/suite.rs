//! Every measurement of a run, jobstore's and the baselines', into one
//! report.

use std::future::Future;
use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::peers::{number, Peers};
use crate::report::Report;
use crate::report::ServerRow;
use crate::settings::Settings;
use crate::stats::{percentile, Samples};
use crate::{
    claims, dashboard, enqueue, memory, pickup, process, pruned, remote, wake, BenchResult,
};

/// The subject name of a jobstore backend.
pub fn subject(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "jobstore (SQLite)",
        Backend::Libsql => "jobstore (libSQL)",
    }
}

/// The effectum subject with or without WAL.
fn effectum(wal: bool) -> &'static str {
    if wal {
        "effectum (WAL)"
    } else {
        "effectum (as shipped)"
    }
}

/// One subject of a figure whose subjects take turns.
enum Turn {
    /// jobstore on a backend.
    Ours(Backend),
    /// A peer's scenario, run with `options` over `jobs` jobs.
    Peer {
        label: &'static str,
        scenario: String,
        options: Vec<String>,
        jobs: usize,
    },
}

impl Turn {
    fn peer(label: &'static str, scenario: String, options: &[&str], jobs: usize) -> Self {
        Turn::Peer {
            label,
            scenario,
            options: options.iter().map(|o| o.to_string()).collect(),
            jobs,
        }
    }
}

/// The measurement names the targets refer to.
pub mod names {
    /// Enqueue, one job per call.
    pub const ENQUEUE_ONE: &str = "Enqueue, one job per call";
    /// Enqueue, 100 per call.
    pub const ENQUEUE_BATCH: &str = "Enqueue, 100 jobs per call";
    /// Processing at a concurrency.
    pub fn processing(concurrency: u32) -> String {
        format!("Processing no-op jobs, concurrency {concurrency}")
    }
    /// Processing at a concurrency, the database on tmpfs.
    pub fn processing_in_memory(concurrency: u32) -> String {
        format!("Processing no-op jobs, concurrency {concurrency}, database on tmpfs (runs taking turns)")
    }
    /// Pickup percentiles.
    pub fn pickup(place: &str, p: u32) -> String {
        format!("Idle pickup p{p}, enqueued in {place}")
    }
    /// Claims at a queue depth.
    pub fn claims(depth: usize) -> String {
        format!(
            "Claims of one job, {} pending",
            crate::report::number(depth as f64)
        )
    }
    /// Claims at a queue depth, on a new file or one that had `history`
    /// jobs pruned.
    pub fn pruned_claims(depth: usize, history: Option<usize>) -> String {
        format!(
            "Claims of one job, {} pending, {}",
            crate::report::number(depth as f64),
            after(history)
        )
    }
    /// Enqueues one per call, on a new file or one that had `history` jobs
    /// pruned.
    pub fn pruned_enqueue(history: Option<usize>) -> String {
        format!("Enqueue one per call, {}", after(history))
    }
    fn after(history: Option<usize>) -> String {
        match history {
            Some(n) => format!(
                "file that had {} jobs pruned",
                crate::report::number(n as f64)
            ),
            None => "new file".to_string(),
        }
    }
    /// The dashboard's first load, summed over its requests.
    pub fn dashboard_load(jobs: usize) -> String {
        format!(
            "Dashboard first load, {} jobs: server time, all requests",
            crate::report::number(jobs as f64)
        )
    }
    /// The dashboard's first load, its slowest request.
    pub fn dashboard_slowest(jobs: usize) -> String {
        format!(
            "Dashboard first load, {} jobs: slowest request",
            crate::report::number(jobs as f64)
        )
    }
    /// Worker memory.
    pub const RSS_TENTH: &str = "Worker RSS after 10% of the jobs";
    /// Worker memory at the end.
    pub const RSS_END: &str = "Worker RSS after every job";
    /// Worker peak memory.
    pub const RSS_PEAK: &str = "Worker peak RSS";
    /// Each run's RSS after 10% of the jobs over its RSS after every job.
    pub const RSS_FLAT: &str = "Worker RSS after 10% / after every job";
    /// Pickup from another process after the worker idled `seconds`.
    pub fn idle_pickup(seconds: u64, p: u32) -> String {
        format!("Idle pickup p{p}, enqueued in another process after {seconds} s idle")
    }
    /// Cancel from another process to the child's death.
    pub fn cancel(p: u32) -> String {
        format!("Cancel from another process to its job's child dead, p{p}")
    }
    /// Another process's progress on a job's event stream.
    pub fn stream(p: u32) -> String {
        format!("Progress from another process on a job's event stream, p{p}")
    }
    /// An idle worker's CPU.
    pub const IDLE_CPU: &str = "Idle worker's CPU, percent of one core";
    /// Processing with the file watched or not, runs taking turns.
    pub fn watched(watch: bool) -> String {
        format!(
            "Processing no-op jobs, concurrency 4, file {} (runs taking turns)",
            if watch { "watched" } else { "not watched" }
        )
    }
    /// Processing over a server.
    pub fn server_processing(rtt_ms: u64, workers: usize, concurrency: usize) -> String {
        let plural = if workers == 1 { "" } else { "s" };
        format!(
            "Processing, {rtt_ms} ms round trip, {workers} worker{plural} × concurrency {concurrency}"
        )
    }
    /// Enqueue over a server.
    pub fn server_enqueue(rtt_ms: u64, batch: usize) -> String {
        let per_call = if batch == 1 {
            "one job".to_string()
        } else {
            format!("{batch} jobs")
        };
        format!("Enqueue, {rtt_ms} ms round trip, {per_call} per call")
    }
    /// Pickup over a server.
    pub fn server_pickup(rtt_ms: u64, how: &str, p: u32) -> String {
        format!("Idle pickup p{p}, {rtt_ms} ms round trip, {how}")
    }
}

/// Runs everything `settings` asks for.
pub struct Suite<'a> {
    settings: &'a Settings,
    peers: Option<&'a Peers>,
    dir: &'a Path,
    /// A directory on tmpfs, if the machine has one.
    memory_dir: Option<&'a Path>,
    files: usize,
    /// What was measured.
    pub report: Report,
}

impl<'a> Suite<'a> {
    /// A suite writing its databases under `dir` (and, for the figures
    /// that say so, under `memory_dir` on tmpfs).
    pub fn new(
        settings: &'a Settings,
        peers: Option<&'a Peers>,
        dir: &'a Path,
        memory_dir: Option<&'a Path>,
    ) -> Self {
        Suite {
            settings,
            peers,
            dir,
            memory_dir,
            files: 0,
            report: Report::default(),
        }
    }

    /// Runs every section the settings ask for.
    pub async fn run(&mut self) -> BenchResult<()> {
        let s = self.settings;
        if s.measures("enqueue") {
            self.enqueue().await?;
        }
        if s.measures("process") {
            self.process().await?;
        }
        if s.measures("pickup") {
            self.pickup().await?;
        }
        if s.measures("wake") {
            self.wake().await?;
        }
        if s.measures("claims") {
            self.claims().await?;
        }
        if s.measures("pruned") {
            self.pruned().await?;
        }
        if s.measures("dashboard") {
            self.dashboard().await?;
        }
        if s.measures("memory") {
            self.memory().await?;
        }
        if s.measures("remote") {
            self.remote().await?;
        }
        Ok(())
    }

    /// Over a server of the bench's own: processing at each round trip,
    /// one and three worker processes, concurrency 4 and 16; enqueue; and
    /// pickup. A quick pass on a machine that cannot start a server says
    /// so and measures nothing.
    async fn remote(&mut self) -> BenchResult<()> {
        let server = match remote::start_server() {
            Ok(server) => server,
            Err(error) if !self.settings.full => {
                println!("remote section skipped: no libSQL server could be started: {error}");
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        let seconds = self.settings.remote_seconds;
        for rtt in self.settings.round_trips.clone() {
            let round_trip = std::time::Duration::from_millis(rtt);
            for workers in [1, 3] {
                for concurrency in [4, 16] {
                    // Sized for `seconds` at a rough guess of the rate.
                    let guess = (workers * concurrency) as f64 * 1000.0 / (rtt as f64 + 4.0);
                    let jobs = ((guess.min(4000.0) * seconds) as usize).max(40);
                    let mut samples = Samples::default();
                    let (mut requests, mut connections) = (0.0, 0);
                    for _ in 0..self.settings.runs {
                        let run = remote::process(&server, round_trip, workers, concurrency, jobs)
                            .await?;
                        samples.0.push(run.per_sec);
                        requests = run.requests_per_job;
                        connections = run.connections;
                    }
                    self.report.add_server(ServerRow {
                        measurement: names::server_processing(rtt, workers, concurrency),
                        unit: "jobs/s",
                        samples,
                        requests_per_job: Some(requests),
                        connections: Some(connections),
                    });
                }
            }
        }
        for rtt in self
            .settings
            .round_trips
            .iter()
            .copied()
            .filter(|r| *r <= 20)
        {
            let round_trip = std::time::Duration::from_millis(rtt);
            for batch in [1, 100] {
                let jobs = if batch == 1 {
                    ((1000.0 / (rtt as f64 + 2.0)) * self.settings.remote_seconds) as usize
                } else {
                    ((100_000.0 / (rtt as f64 + 20.0)) * self.settings.remote_seconds) as usize
                }
                .max(batch);
                let mut samples = Samples::default();
                for _ in 0..self.settings.runs {
                    samples
                        .0
                        .push(remote::enqueue(&server, round_trip, jobs, batch).await?);
                }
                self.report.add_server(ServerRow {
                    measurement: names::server_enqueue(rtt, batch),
                    unit: "jobs/s",
                    samples,
                    requests_per_job: None,
                    connections: None,
                });
            }
        }
        let rtt = self
            .settings
            .round_trips
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
            .min(20);
        let (woken, polled) = remote::pickup(
            &server,
            std::time::Duration::from_millis(rtt),
            self.settings.server_pickups,
        )
        .await?;
        for (how, latencies) in [
            ("enqueued through the worker", &woken),
            ("enqueued by another client", &polled),
        ] {
            for p in [50, 99] {
                self.report.add_server(ServerRow {
                    measurement: names::server_pickup(rtt, how, p),
                    unit: "ms",
                    samples: Samples(vec![percentile(latencies, f64::from(p))]),
                    requests_per_job: None,
                    connections: None,
                });
            }
        }
        Ok(())
    }

    /// A new database path (every measurement starts from a fresh file,
    /// removed once measured).
    fn fresh(&mut self) -> PathBuf {
        self.files += 1;
        self.dir.join(format!("bench-{}.db", self.files))
    }

    /// The figure `name` of every subject of `turns`, each run once per
    /// round for `runs` rounds, so that whatever the machine does meanwhile
    /// falls on every subject alike; jobstore's runs are `ours`. Peers are
    /// left out of a run without them.
    async fn taking_turns<F, Fut>(
        &mut self,
        name: &str,
        turns: &[Turn],
        mut ours: F,
    ) -> BenchResult<()>
    where
        F: FnMut(Backend, PathBuf) -> Fut,
        Fut: Future<Output = BenchResult<f64>>,
    {
        let peers = self.peers;
        let turns: Vec<&Turn> = turns
            .iter()
            .filter(|turn| peers.is_some() || matches!(turn, Turn::Ours(_)))
            .collect();
        let mut samples: Vec<Samples> = turns.iter().map(|_| Samples::default()).collect();
        for _ in 0..self.settings.runs {
            for (turn, samples) in turns.iter().zip(samples.iter_mut()) {
                let path = self.fresh();
                let value = match (turn, peers) {
                    (Turn::Ours(backend), _) => ours(*backend, path.clone()).await?,
                    (
                        Turn::Peer {
                            scenario,
                            options,
                            jobs,
                            ..
                        },
                        Some(peers),
                    ) => {
                        let options: Vec<&str> = options.iter().map(String::as_str).collect();
                        number(&peers.run(scenario, &path, *jobs, &options)?, "per_sec")?
                    }
                    (Turn::Peer { .. }, None) => continue,
                };
                samples.0.push(value);
                remove_database(&path);
            }
        }
        for (turn, samples) in turns.iter().zip(samples) {
            let subject = match turn {
                Turn::Ours(backend) => subject(*backend),
                Turn::Peer { label, .. } => label,
            };
            self.report.add(name, "jobs/s", subject, samples);
        }
        Ok(())
    }

    /// `runs` samples of a peer scenario's `field`.
    async fn repeat_peer(
        &mut self,
        scenario: &str,
        options: &[&str],
        field: &str,
        jobs: usize,
    ) -> BenchResult<Option<Samples>> {
        let Some(peers) = self.peers else {
            return Ok(None);
        };
        let mut samples = Samples::default();
        for _ in 0..self.settings.runs {
            let path = self.fresh();
            samples
                .0
                .push(number(&peers.run(scenario, &path, jobs, options)?, field)?);
            remove_database(&path);
        }
        Ok(Some(samples))
    }

    /// The subjects of a throughput figure, in the order they take turns:
    /// jobstore on each backend; raw SQLite running its `what` scenario
    /// with `raw_options`; effectum running its own with
    /// `effectum_options`, in WAL and then as shipped (over fewer jobs).
    fn subjects(&self, what: &str, raw_options: &[&str], effectum_options: &[&str]) -> Vec<Turn> {
        let mut turns: Vec<Turn> = self
            .settings
            .backends
            .iter()
            .map(|backend| Turn::Ours(*backend))
            .collect();
        turns.push(Turn::peer(
            "raw SQLite",
            format!("raw-{what}"),
            raw_options,
            self.settings.jobs,
        ));
        for wal in [true, false] {
            let mut options = effectum_options.to_vec();
            let jobs = if wal {
                options.push("--wal");
                self.settings.jobs
            } else {
                self.settings.shipped_jobs
            };
            turns.push(Turn::peer(
                effectum(wal),
                format!("effectum-{what}"),
                &options,
                jobs,
            ));
        }
        turns
    }

    /// Enqueue, one job per call and 100 per call: every subject once per
    /// round, rounds repeated (a machine's slow spell falls on all of them).
    async fn enqueue(&mut self) -> BenchResult<()> {
        let jobs = self.settings.jobs;
        for (name, batch) in [(names::ENQUEUE_ONE, 1), (names::ENQUEUE_BATCH, 100)] {
            let b = batch.to_string();
            let turns = self.subjects("enqueue", &["--batch", &b], &["--batch", &b]);
            self.taking_turns(name, &turns, |backend, path| async move {
                enqueue::jobs_per_sec(backend, &path, jobs, batch).await
            })
            .await?;
        }
        Ok(())
    }

    /// Processing at each concurrency, subjects taking turns; then on
    /// tmpfs, the change feed's cost, and raw SQLite one job per
    /// transaction.
    async fn process(&mut self) -> BenchResult<()> {
        let jobs = self.settings.jobs;
        for concurrency in self.settings.levels.clone() {
            let name = names::processing(concurrency);
            // Raw SQLite claiming and completing as many jobs per
            // transaction as the worker runs at once.
            let c = concurrency.to_string();
            let turns = self.subjects(
                "process",
                &["--batch", &c, "--concurrency", "1"],
                &["--concurrency", &c],
            );
            self.taking_turns(&name, &turns, |backend, path| async move {
                process::jobs_per_sec(backend, &path, jobs, concurrency as usize).await
            })
            .await?;
        }
        self.process_in_memory().await?;
        // The change feed's cost to a busy worker: runs with and without
        // the file watched, taking turns.
        let (mut watched, mut unwatched) = (Samples::default(), Samples::default());
        for _ in 0..self.settings.runs {
            for (watch, samples) in [(true, &mut watched), (false, &mut unwatched)] {
                let path = self.fresh();
                samples.0.push(
                    process::jobs_per_sec_watching(Backend::Sqlite, &path, jobs, 4, watch).await?,
                );
                remove_database(&path);
            }
        }
        let sqlite = subject(Backend::Sqlite);
        self.report
            .add(&names::watched(true), "jobs/s", sqlite, watched);
        self.report
            .add(&names::watched(false), "jobs/s", sqlite, unwatched);
        for (threads, label) in [("1", "one thread"), ("4", "four threads")] {
            let options = ["--batch", "1", "--concurrency", threads];
            if let Some(samples) = self
                .repeat_peer("raw-process", &options, "per_sec", jobs)
                .await?
            {
                let name = format!("Claim + complete, one job per transaction, {label}");
                self.report.add(&name, "jobs/s", "raw SQLite", samples);
            }
        }
        Ok(())
    }

    /// Processing beside raw SQLite with the database on tmpfs, runs
    /// taking turns: where a commit costs no disk I/O, the difference is
    /// the worker's own per-job cost. (On a slow disk raw SQLite's page
    /// writes dominate its figure, and the ratio on disk says little about
    /// the worker.)
    async fn process_in_memory(&mut self) -> BenchResult<()> {
        let (Some(memory_dir), Some(peers)) = (self.memory_dir, self.peers) else {
            return Ok(());
        };
        let jobs = self.settings.jobs;
        let sqlite = subject(Backend::Sqlite);
        for concurrency in self.settings.levels.clone() {
            let (mut ours, mut raw) = (Samples::default(), Samples::default());
            let batch = concurrency.to_string();
            let options = ["--batch", batch.as_str(), "--concurrency", "1"];
            for _ in 0..self.settings.runs {
                self.files += 1;
                let path = memory_dir.join(format!("bench-{}.db", self.files));
                ours.0.push(
                    process::jobs_per_sec(Backend::Sqlite, &path, jobs, concurrency as usize)
                        .await?,
                );
                remove_database(&path);
                raw.0.push(number(
                    &peers.run("raw-process", &path, jobs, &options)?,
                    "per_sec",
                )?);
                remove_database(&path);
            }
            let name = names::processing_in_memory(concurrency);
            self.report.add(&name, "jobs/s", sqlite, ours);
            self.report.add(&name, "jobs/s", "raw SQLite", raw);
        }
        Ok(())
    }

    async fn pickup(&mut self) -> BenchResult<()> {
        let (local, remote) = (self.settings.pickups, self.settings.remote_pickups);
        for backend in self.settings.backends.clone() {
            let path = self.fresh();
            let latencies = pickup::same_process(backend, &path, local).await?;
            self.add_percentiles("the same process", subject(backend), &latencies);
            remove_database(&path);
            let path = self.fresh();
            let latencies = pickup::other_process(backend, &path, remote, None).await?;
            self.add_percentiles("another process", subject(backend), &latencies);
            remove_database(&path);
        }
        if let Some(peers) = self.peers {
            let path = self.fresh();
            let answer = peers.run("effectum-pickup", &path, local, &["--wal"])?;
            for p in [50, 99] {
                let ms = number(&answer, &format!("p{p}_ms"))?;
                self.report.add(
                    &names::pickup("the same process", p),
                    "ms",
                    effectum(true),
                    Samples(vec![ms]),
                );
            }
            remove_database(&path);
        }
        Ok(())
    }

    /// Between processes: pickup after idle pauses, cancels, event
    /// streams, and an idle worker's CPU.
    async fn wake(&mut self) -> BenchResult<()> {
        for (seconds, samples) in self.settings.idle_pickups.clone() {
            // Both backends idle at once: a long pause costs its time once.
            let pause = Some(std::time::Duration::from_secs(seconds));
            let (sqlite_path, libsql_path) = (self.fresh(), self.fresh());
            let (sqlite, libsql) = tokio::join!(
                pickup::other_process(Backend::Sqlite, &sqlite_path, samples, pause),
                pickup::other_process(Backend::Libsql, &libsql_path, samples, pause),
            );
            for (backend, latencies) in [(Backend::Sqlite, sqlite?), (Backend::Libsql, libsql?)] {
                for p in [50, 99] {
                    self.report.add(
                        &names::idle_pickup(seconds, p),
                        "ms",
                        subject(backend),
                        Samples(vec![percentile(&latencies, f64::from(p))]),
                    );
                }
            }
            remove_database(&sqlite_path);
            remove_database(&libsql_path);
        }
        for backend in self.settings.backends.clone() {
            let path = self.fresh();
            let latencies = wake::cancel(backend, &path, self.settings.cancels).await?;
            remove_database(&path);
            for p in [50, 99] {
                self.report.add(
                    &names::cancel(p),
                    "ms",
                    subject(backend),
                    Samples(vec![percentile(&latencies, f64::from(p))]),
                );
            }
            let path = self.fresh();
            let latencies = wake::stream(backend, &path, self.settings.stream_events).await?;
            remove_database(&path);
            for p in [50, 99] {
                self.report.add(
                    &names::stream(p),
                    "ms",
                    subject(backend),
                    Samples(vec![percentile(&latencies, f64::from(p))]),
                );
            }
        }
        let window = self.settings.idle_window;
        let (sqlite_path, libsql_path) = (self.fresh(), self.fresh());
        let (sqlite, libsql) = tokio::join!(
            wake::idle_cpu(Backend::Sqlite, &sqlite_path, window),
            wake::idle_cpu(Backend::Libsql, &libsql_path, window),
        );
        for (backend, percent) in [(Backend::Sqlite, sqlite?), (Backend::Libsql, libsql?)] {
            self.report.add(
                names::IDLE_CPU,
                "%",
                subject(backend),
                Samples(vec![percent]),
            );
        }
        remove_database(&sqlite_path);
        remove_database(&libsql_path);
        Ok(())
    }

    fn add_percentiles(&mut self, place: &str, subject: &'static str, latencies: &[f64]) {
        for p in [50, 99] {
            let value = percentile(latencies, f64::from(p));
            self.report.add(
                &names::pickup(place, p),
                "ms",
                subject,
                Samples(vec![value]),
            );
        }
    }

    async fn claims(&mut self) -> BenchResult<()> {
        // Rounds are short (a fraction of a second), so take more of them
        // than of the other figures: a pause landing in one round moves its
        // figure, not the median.
        let (claims, rounds) = (self.settings.claims, self.settings.runs * 5);
        let depths = self.settings.queue_depths;
        for backend in self.settings.backends.clone() {
            let paths = depths.map(|_| self.fresh());
            let paths = paths.each_ref().map(PathBuf::as_path);
            let samples = claims::claims_per_sec(backend, &paths, &depths, claims, rounds).await?;
            for ((path, depth), samples) in paths.into_iter().zip(depths).zip(samples) {
                remove_database(path);
                self.report
                    .add(&names::claims(depth), "claims/s", subject(backend), samples);
            }
        }
        Ok(())
    }

    async fn pruned(&mut self) -> BenchResult<()> {
        let [depth, history] = self.settings.queue_depths;
        let (n, rounds) = (self.settings.claims, self.settings.runs * 5);
        for backend in self.settings.backends.clone() {
            let (fresh, old) = (self.fresh(), self.fresh());
            let figures = pruned::figures(backend, &fresh, &old, history, depth, n, rounds).await?;
            remove_database(&fresh);
            remove_database(&old);
            let [new_claims, old_claims] = figures.claims;
            let [new_enqueues, old_enqueues] = figures.enqueues;
            let s = subject(backend);
            for (name, unit, samples) in [
                (names::pruned_claims(depth, None), "claims/s", new_claims),
                (
                    names::pruned_claims(depth, Some(history)),
                    "claims/s",
                    old_claims,
                ),
                (names::pruned_enqueue(None), "jobs/s", new_enqueues),
                (names::pruned_enqueue(Some(history)), "jobs/s", old_enqueues),
            ] {
                self.report.add(&name, unit, s, samples);
            }
        }
        Ok(())
    }

    async fn dashboard(&mut self) -> BenchResult<()> {
        let jobs = self.settings.dashboard_jobs;
        let loads = self.settings.runs * 5;
        for backend in self.settings.backends.clone() {
            let path = self.fresh();
            let store = backend.open(&path).await?;
            let load = dashboard::first_load(store, &path, jobs, loads).await?;
            remove_database(&path);
            println!(
                "dashboard, {}: slowest request {} (median {:.1} ms)",
                subject(backend),
                load.slowest,
                load.slowest_ms.median()
            );
            self.report.add(
                &names::dashboard_load(jobs),
                "ms",
                subject(backend),
                load.total_ms,
            );
            self.report.add(
                &names::dashboard_slowest(jobs),
                "ms",
                subject(backend),
                load.slowest_ms,
            );
        }
        Ok(())
    }

    async fn memory(&mut self) -> BenchResult<()> {
        let jobs = self.settings.memory_jobs;
        for backend in self.settings.backends.clone() {
            // One run is one sample of where the resident set settles (it
            // once stepped up at points that differed from run to run), so
            // several are taken, as for every other figure.
            let mut profiles = Vec::new();
            for _ in 0..self.settings.runs {
                let path = self.fresh();
                profiles.push(memory::worker_profile(backend, &path, jobs).await?);
                remove_database(&path);
            }
            let of = |value: fn(&memory::MemoryProfile) -> f64| -> Samples {
                Samples(profiles.iter().map(value).collect())
            };
            let rows = [
                (names::RSS_TENTH, "MiB", of(|p| p.at_tenth)),
                (names::RSS_END, "MiB", of(|p| p.at_end)),
                (names::RSS_PEAK, "MiB", of(|p| p.peak)),
                (names::RSS_FLAT, "×", of(|p| p.at_tenth / p.at_end)),
            ];
            for (name, unit, samples) in rows {
                self.report.add(name, unit, subject(backend), samples);
            }
        }
        Ok(())
    }
}

/// Removes a measured database and its WAL files (a full run writes
/// gigabytes otherwise).
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}
