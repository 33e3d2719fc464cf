//! The command line, and the checks that turn it into one [`Run`].

use std::path::PathBuf;

use anyhow::{bail, ensure, Result};
use clap::{Parser, ValueEnum};

/// Runs one baseline measurement on a fresh database file and prints it as
/// one JSON line.
#[derive(Debug, Parser)]
#[command(name = "peers")]
pub struct Args {
    /// What to measure.
    pub scenario: Scenario,
    /// The database file to create; it must not exist yet.
    #[arg(long)]
    pub db: PathBuf,
    /// How many jobs (for effectum-pickup: how many pickups).
    #[arg(long)]
    pub jobs: usize,
    /// Jobs per transaction or per call (raw-enqueue, raw-process, effectum-enqueue).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Worker threads (raw-process) or worker concurrency (effectum-process).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Put effectum's database file in WAL mode before effectum opens it.
    #[arg(long)]
    pub wal: bool,
    /// jobstore's migrations folder (raw scenarios): one folder per
    /// migration, each with an `up.sql`.
    #[arg(long)]
    pub migrations: Option<PathBuf>,
}

/// The measurements this program makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Insert jobs into jobstore's `jobs` table with plain SQL.
    RawEnqueue,
    /// Claim and complete pre-filled jobs with jobstore's SQL.
    RawProcess,
    /// Enqueue no-op jobs through effectum.
    EffectumEnqueue,
    /// Run pre-filled no-op jobs through an effectum worker.
    EffectumProcess,
    /// Idle-worker pickup latency in effectum.
    EffectumPickup,
}

impl Scenario {
    /// The name given on the command line and reported in the JSON line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::RawEnqueue => "raw-enqueue",
            Scenario::RawProcess => "raw-process",
            Scenario::EffectumEnqueue => "effectum-enqueue",
            Scenario::EffectumProcess => "effectum-process",
            Scenario::EffectumPickup => "effectum-pickup",
        }
    }

    fn is_raw(self) -> bool {
        matches!(self, Scenario::RawEnqueue | Scenario::RawProcess)
    }

    fn takes_batch(self) -> bool {
        matches!(
            self,
            Scenario::RawEnqueue | Scenario::RawProcess | Scenario::EffectumEnqueue
        )
    }

    fn takes_concurrency(self) -> bool {
        matches!(self, Scenario::RawProcess | Scenario::EffectumProcess)
    }
}

/// One measurement to make, with every option checked.
#[derive(Debug)]
pub struct Run {
    pub scenario: Scenario,
    pub db: PathBuf,
    pub jobs: usize,
    /// 1 where the scenario has no batch.
    pub batch: usize,
    /// 1 where the scenario has a single caller.
    pub concurrency: usize,
    pub wal: bool,
    /// Present for the raw scenarios, which require it.
    pub migrations: Option<PathBuf>,
}

impl TryFrom<Args> for Run {
    type Error = anyhow::Error;

    /// Refuses options that do not apply to the scenario rather than
    /// ignoring them, so a caller never reports a setting that was not used.
    fn try_from(args: Args) -> Result<Run> {
        let scenario = args.scenario;
        let name = scenario.name();
        if args.batch.is_some() && !scenario.takes_batch() {
            bail!("--batch does not apply to {name}");
        }
        if args.concurrency.is_some() && !scenario.takes_concurrency() {
            bail!("--concurrency does not apply to {name}");
        }
        if args.wal && scenario.is_raw() {
            bail!("--wal does not apply to {name}: raw SQLite always uses WAL, as jobstore does");
        }
        if args.migrations.is_some() && !scenario.is_raw() {
            bail!("--migrations does not apply to {name}");
        }
        if scenario.is_raw() && args.migrations.is_none() {
            bail!("{name} needs --migrations DIR (jobstore's migrations folder)");
        }
        let batch = args.batch.unwrap_or(1);
        let concurrency = args.concurrency.unwrap_or(1);
        ensure!(args.jobs >= 1, "--jobs must be at least 1");
        ensure!(batch >= 1, "--batch must be at least 1");
        ensure!(concurrency >= 1, "--concurrency must be at least 1");
        ensure!(
            !args.db.exists(),
            "{} already exists; each run needs a fresh database file",
            args.db.display()
        );
        Ok(Run {
            scenario,
            db: args.db,
            jobs: args.jobs,
            batch,
            concurrency,
            wal: args.wal,
            migrations: args.migrations,
        })
    }
}
