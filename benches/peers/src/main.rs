//! Baselines for jobstore's benchmark, one measurement per run.
//!
//! `peers <scenario> --db <PATH> --jobs <N> [--batch <B>] [--concurrency <C>]
//! [--wal] [--migrations <DIR>]` makes one measurement on a fresh database
//! file at PATH and prints it as one JSON line on standard output. Errors go
//! to standard error, with a non-zero exit code. See README.md.

mod cli;
mod effectum_bench;
mod raw;
mod report;
mod sqlite_file;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{Args, Run, Scenario};
use report::Measurement;

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("peers: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Makes the measurement and returns its JSON line.
fn run(args: Args) -> Result<serde_json::Value> {
    let run = Run::try_from(args)?;
    let measurement = measure(&run)?;
    // Read after the run, once every connection of the run is closed.
    let journal_mode = sqlite_file::journal_mode(&run.db)?;
    Ok(report::line(
        &run,
        measurement,
        &journal_mode,
        sqlite_file::engine_version(),
    ))
}

fn measure(run: &Run) -> Result<Measurement> {
    match run.scenario {
        Scenario::RawEnqueue => raw::enqueue(run),
        Scenario::RawProcess => raw::process(run),
        Scenario::EffectumEnqueue => effectum_bench::enqueue(run),
        Scenario::EffectumProcess => effectum_bench::process(run),
        Scenario::EffectumPickup => effectum_bench::pickup(run),
    }
}
