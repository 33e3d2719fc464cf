//! The programs a worker lets its jobs start.

use serde::{Deserialize, Serialize};

/// Which programs jobs may start through [`JobContext::spawn`]
/// (every `exec` job does): any, or only those listed.
///
/// Anyone who may enqueue an `exec` job may run any program as the
/// worker's user, unless the worker lists what it allows. A program is
/// allowed when it equals an entry exactly: list `/usr/bin/convert` to
/// allow that path only, `convert` to allow the name looked up in `PATH`.
/// The list is checked at enqueue, where the enqueuer knows it, and always
/// again when the job starts the program.
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
