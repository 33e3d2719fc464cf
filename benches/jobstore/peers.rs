//! The baselines: raw SQLite through rusqlite and effectum 0.7, built and
//! run from their own cargo project (`benches/peers/`), outside jobstore's
//! dependency graph (effectum pins an older SQLite binding).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::BenchResult;

/// The built `peers` program.
pub struct Peers {
    binary: PathBuf,
    migrations: PathBuf,
}

impl Peers {
    /// Builds `benches/peers/` (optimised when `release`) into its own
    /// folder of jobstore's target directory.
    pub fn build(release: bool) -> BenchResult<Peers> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .ok_or("no target directory")?
            .join("peers");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--locked", "--quiet", "--manifest-path"])
            .arg(root.join("benches/peers/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target);
        if release {
            build.arg("--release");
        }
        let status = build.status()?;
        if !status.success() {
            return Err(format!("building benches/peers failed: {status}").into());
        }
        let profile = if release { "release" } else { "debug" };
        Ok(Peers {
            binary: target.join(profile).join("peers"),
            migrations: root.join("migrations"),
        })
    }

    /// Runs one scenario on a fresh database at `db` and returns the JSON
    /// object it prints.
    pub fn run(
        &self,
        scenario: &str,
        db: &Path,
        jobs: usize,
        options: &[&str],
    ) -> BenchResult<Value> {
        let mut command = Command::new(&self.binary);
        command
            .arg(scenario)
            .arg("--db")
            .arg(db)
            .arg("--jobs")
            .arg(jobs.to_string())
            .args(options);
        if scenario.starts_with("raw-") {
            // The raw baseline builds jobstore's own schema.
            command.arg("--migrations").arg(&self.migrations);
        }
        let output = command.output()?;
        if !output.status.success() {
            return Err(format!(
                "peers {scenario} {options:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        let line = String::from_utf8(output.stdout)?;
        Ok(serde_json::from_str(line.trim())?)
    }
}

/// The number `field` of a peer's answer.
pub fn number(answer: &Value, field: &str) -> BenchResult<f64> {
    answer[field]
        .as_f64()
        .ok_or_else(|| format!("no number {field:?} in {answer}").into())
}
