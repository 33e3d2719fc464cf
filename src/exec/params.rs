//! What an `exec` job is told to run.

use std::collections::BTreeMap;
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tokio::process::Command;

/// The params of an [`Exec`](super::Exec) job: a program, its arguments,
/// environment and working directory, and how to judge its exit.
///
/// Unknown fields are refused, so a misspelt option fails the job at once
/// instead of being silently ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    /// The program to run: a path, or a name looked up in `PATH`. Prefer
    /// an absolute path when `cwd` is set: a relative path that contains a
    /// slash is resolved differently across platforms.
    pub program: String,
    /// Its arguments, passed as they are (no shell is involved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Variables added to (or overriding) the worker's own environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The working directory; the worker's own when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// How long one attempt may run, in seconds, before the program is
    /// killed and the attempt counts as a transient failure. `None` leaves
    /// only the job type's own limit (see [`Exec`](super::Exec)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Exit codes that mean "try again later" (say 75, `EX_TEMPFAIL`):
    /// such an exit is a transient failure, retried with backoff while
    /// attempts remain. Any other non-zero exit fails the job for good.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transient_exit_codes: Vec<i32>,
}

impl ExecParams {
    /// Runs `program` with no arguments and the defaults for the rest.
    pub fn new(program: impl Into<String>) -> Self {
        ExecParams {
            program: program.into(),
            ..ExecParams::default()
        }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the program.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets the per-job time limit, in seconds.
    pub fn timeout_secs(mut self, secs: u64) -> Self {
        self.timeout_secs = Some(secs);
        self
    }

    /// Sets the exit codes that count as transient failures.
    pub fn transient_exit_codes(mut self, codes: impl IntoIterator<Item = i32>) -> Self {
        self.transient_exit_codes = codes.into_iter().collect();
        self
    }

    /// Why these params cannot work, if they cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.program.trim().is_empty() {
            return Some("program must not be empty".to_string());
        }
        if self.timeout_secs == Some(0) {
            return Some("timeout_secs must be at least 1".to_string());
        }
        // No program can be given a NUL byte: such a job could never start.
        let nul = |text: &str| text.contains('\0');
        if nul(&self.program) {
            return Some("program holds a NUL byte".to_string());
        }
        if let Some(at) = self.args.iter().position(|a| nul(a)) {
            return Some(format!("args[{at}] holds a NUL byte"));
        }
        if let Some((key, _)) = self.env.iter().find(|(k, v)| nul(k) || nul(v)) {
            return Some(format!("env {key:?} holds a NUL byte"));
        }
        if let Some((key, _)) = self
            .env
            .iter()
            .find(|(k, _)| k.is_empty() || k.contains('='))
        {
            return Some(format!(
                "env name {key:?} must be non-empty and hold no '='"
            ));
        }
        if self.cwd.as_deref().is_some_and(nul) {
            return Some("cwd holds a NUL byte".to_string());
        }
        None
    }

    /// The command to spawn: stdin closed, stdout and stderr piped.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_unknown_fields_are_refused() {
        let params: ExecParams =
            serde_json::from_value(serde_json::json!({ "program": "ls" })).unwrap();
        assert_eq!(params, ExecParams::new("ls"));
        let err = serde_json::from_value::<ExecParams>(
            serde_json::json!({ "program": "ls", "argv": [] }),
        )
        .unwrap_err();
        assert!(err.to_string().contains("argv"), "{err}");
    }

    #[test]
    fn empty_programs_and_zero_timeouts_are_problems() {
        assert!(ExecParams::new(" ").problem().is_some());
        assert!(ExecParams::new("ls").timeout_secs(0).problem().is_some());
        assert_eq!(ExecParams::new("ls").timeout_secs(1).problem(), None);
    }
}
