//! The programs a worker lets its jobs start.

use serde::{Deserialize, Serialize};

/// Which programs jobs may start through [`JobContext::spawn`]
/// (every `exec` job does): any, or only those listed.
///
/// Anyone who may enqueue an `exec` job may run any program as the
/// worker's user, unless the worker lists what it allows. A program is
/// allowed when it equals an entry exactly: list `/usr/bin/convert` to
/// allow that path only, `convert` to allow the name looked up in the
/// worker's own `PATH`. With a list, a job may not set the variables that
/// would change what actually runs (`PATH`, and the dynamic loader's
/// `LD_*` and `DYLD_*`). The list is checked at enqueue, where the enqueuer
/// knows it, and always again when the job starts the program.
///
/// ```
/// use jobstore::worker::ProgramAllowlist;
///
/// let allow = ProgramAllowlist::only(["convert", "/usr/bin/ffmpeg"]);
/// assert!(allow.permits("convert"));
/// assert!(!allow.permits("sh"));
/// assert!(ProgramAllowlist::any().permits("sh"));
/// ```
///
/// [`JobContext::spawn`]: super::JobContext::spawn
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramAllowlist(Option<Vec<String>>);

impl ProgramAllowlist {
    /// Every program may be started (the default).
    pub fn any() -> Self {
        ProgramAllowlist(None)
    }

    /// Only these programs may be started.
    pub fn only<I, S>(programs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ProgramAllowlist(Some(programs.into_iter().map(Into::into).collect()))
    }

    /// Whether `program` may be started.
    pub fn permits(&self, program: &str) -> bool {
        match &self.0 {
            None => true,
            Some(allowed) => allowed.iter().any(|a| a == program),
        }
    }

    /// Why a job may not set the environment variable `name` for a program
    /// it starts, if it may not: with a list, `PATH` (which would choose
    /// another program by the same name) and the loader's `LD_*` and
    /// `DYLD_*` (which would run other code inside an allowed one).
    pub fn env_refusal(&self, name: &str) -> Option<String> {
        let steers = name == "PATH" || name.starts_with("LD_") || name.starts_with("DYLD_");
        (self.0.is_some() && steers).then(|| {
            format!(
                "env {name:?} may not be set on this worker: with an allowlist of programs, \
                 PATH, LD_* and DYLD_* stay the worker's own"
            )
        })
    }

    /// Why `program` may not be started, if it may not.
    pub fn refusal(&self, program: &str) -> Option<String> {
        match &self.0 {
            Some(allowed) if !self.permits(program) => Some(format!(
                "program {program:?} is not allowed on this worker (allowed: {}); \
                 operators allow programs with `jobstore worker --exec-allow`",
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )),
            _ => None,
        }
    }
}
