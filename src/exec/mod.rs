//! A built-in job type, `exec`, that runs a program as a supervised child
//! of the job.
//!
//! ```
//! use jobstore::exec::{Exec, ExecParams};
//! use jobstore::worker::{JobType, Registry};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = Registry::new();
//! registry.register(Exec)?;
//!
//! let job = Exec::job(
//!     &ExecParams::new("/usr/bin/rsync")
//!         .args(["-a", "/data/", "backup:/data/"])
//!         .timeout_secs(3600)
//!         .transient_exit_codes([10, 30]),
//! )?;
//! # let _ = job;
//! # Ok(())
//! # }
//! ```
//!
//! The params ([`ExecParams`]) as JSON:
//!
//! ```json
//! { "program": "/usr/bin/rsync", "args": ["-a", "/data/", "backup:/data/"],
//!   "env": { "RSYNC_RSH": "ssh -i key" }, "cwd": "/srv",
//!   "timeout_secs": 3600, "transient_exit_codes": [10, 30] }
//! ```
//!
//! Only `program` is required; unknown fields fail the job.
//!
//! # How the program runs
//!
//! It is started directly (no shell) through
//! [`JobContext::spawn`](crate::worker::JobContext::spawn), so
//! cancellation, timeouts and worker shutdown stop its whole process group.
//! Its stdin is closed; its stdout and stderr are read line by line. Its
//! environment is the worker's, with the params' `env` and then, so that
//! the program can make its effects idempotent (a rerun after a lost
//! worker knows it is a rerun), `JOBSTORE_JOB_ID`, `JOBSTORE_ATTEMPT`
//! (1 for the first), `JOBSTORE_MAX_ATTEMPTS`, `JOBSTORE_QUEUE` and
//! `JOBSTORE_JOB_TYPE`.
//!
//! - Exit 0: the job completes with an [`ExecOutput`]: the exit code and the
//!   last 20 lines of stdout and of stderr (each line cut after 1000 bytes
//!   and marked with `…`, invalid UTF-8 replaced).
//! - Any other exit code fails the job for good, with the exit code and the
//!   last lines of stderr as its error, unless the code is listed in
//!   `transient_exit_codes`: then the attempt is a transient failure,
//!   retried with backoff while attempts remain.
//! - Killed by a signal: a transient failure.
//! - A program that does not exist or may not be executed, or a `cwd` that
//!   does not exist: a permanent failure naming it.
//! - `timeout_secs` runs out: a transient failure, "timed out after Ns";
//!   the program and its process group are killed.
//!
//! # Progress lines
//!
//! A program reports progress by printing, on stdout, lines of the form
//!
//! ```text
//! ::progress stage=NAME
//! ::progress stage=NAME percent=N
//! ::progress stage="NAME WITH SPACES" percent=N
//! ```
//!
//! Each becomes the job's stage and percent, as
//! [`JobContext::progress`](crate::worker::JobContext::progress) stores
//! them: a stage without a percent is shown with no made-up number. The
//! line starts with `::progress` (nothing before it), followed by
//! `key=value` fields separated by spaces, in any order: `stage` (required,
//! at most 200 bytes) and `percent` (optional, a number from 0 to 100,
//! decimals allowed). A value is bare (no spaces or quotes) or
//! double-quoted, with `\"` and `\\` as escapes. For example, from a shell
//! script:
//!
//! ```sh
//! echo '::progress stage=downloading percent=40'
//! echo '::progress stage="verifying checksums"'
//! ```
//!
//! Progress lines are not kept in the output tail. A line that starts with
//! `::progress` but does not follow the format (a missing stage, a percent
//! outside 0..=100, an unknown field) is logged as a warning and kept as
//! ordinary output: it never fails the job. [`parse_progress_line`] is the
//! parser the worker uses.
//!
//! # Security
//!
//! Registering `Exec` lets anyone who can enqueue a job run any program, as
//! the worker's user, with any arguments. Register it only in workers whose
//! database is written by trusted code.

mod child;
mod exit;
mod lines;
mod output;
mod params;
mod progress_line;
mod tail;

use std::time::Duration;

use async_trait::async_trait;

pub use output::ExecOutput;
pub use params::ExecParams;
pub use progress_line::{
    parse as parse_progress_line, Malformed as MalformedProgressLine, ProgressLine,
};

use crate::worker::{JobContext, JobError, JobType, ProgramAllowlist};

/// The longest any `exec` attempt may run, whatever its params say.
const TYPE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The `exec` job type: runs a program with [`ExecParams`] and completes
/// with an [`ExecOutput`]. See the [module docs](self) for exits, timeouts
/// and the progress line format.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exec;

#[async_trait]
impl JobType for Exec {
    const NAME: &'static str = "exec";
    type Params = ExecParams;
    type Output = ExecOutput;

    /// 24 hours: a backstop only. Each job sets its own limit with
    /// [`ExecParams::timeout_secs`], since one type runs programs of every
    /// kind; a longer `timeout_secs` is cut to this.
    fn timeout(&self) -> Duration {
        TYPE_TIMEOUT
    }

    /// Refuses at enqueue what can never start: an empty program, a NUL
    /// byte anywhere, a program the worker does not allow (or, with an
    /// allowlist, a `PATH` or loader variable in `env`).
    fn check(&self, params: &ExecParams, allowed: &ProgramAllowlist) -> Result<(), String> {
        if let Some(problem) = params.problem() {
            return Err(problem);
        }
        if let Some(refusal) = params.env.keys().find_map(|name| allowed.env_refusal(name)) {
            return Err(refusal);
        }
        allowed.refusal(&params.program).map_or(Ok(()), Err)
    }

    async fn run(&self, params: ExecParams, ctx: &JobContext) -> Result<ExecOutput, JobError> {
        if let Some(problem) = params.problem() {
            return Err(JobError::permanent(problem));
        }
        check_cwd(params.cwd.as_deref())?;
        let mut command = params.command();
        // Set after the params' own env, so a job cannot pose as another.
        let job = ctx.job();
        command
            .env("JOBSTORE_JOB_ID", job.id.to_string())
            .env("JOBSTORE_ATTEMPT", ctx.attempt().to_string())
            .env("JOBSTORE_MAX_ATTEMPTS", job.max_attempts.to_string())
            .env("JOBSTORE_QUEUE", &job.queue)
            .env("JOBSTORE_JOB_TYPE", &job.job_type);
        let child = ctx.spawn(&mut command)?;
        tracing::info!(program = %params.program, pid = ?child.id(), "started");
        let running = child::run_to_exit(child, ctx);
        let finished = match params.timeout_secs {
            Some(secs) => tokio::time::timeout(Duration::from_secs(secs), running)
                .await
                .map_err(|_| JobError::transient(format!("timed out after {secs}s")))??,
            None => running.await?,
        };
        tracing::info!(program = %params.program, status = %finished.status, "exited");
        exit::judge(&params, finished)
    }
}

/// A missing working directory would make the spawn fail as if the program
/// were missing; say what is really wrong instead.
fn check_cwd(cwd: Option<&str>) -> Result<(), JobError> {
    let Some(cwd) = cwd else {
        return Ok(());
    };
    match std::fs::metadata(cwd) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(JobError::permanent(format!(
            "cwd {cwd:?} is not a directory"
        ))),
        Err(e) => {
            let message = format!("cwd {cwd:?}: {e}");
            match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    Err(JobError::permanent(message))
                }
                _ => Err(JobError::transient(message)),
            }
        }
    }
}
