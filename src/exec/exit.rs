//! Judging how the program exited: a result, or a transient or permanent
//! failure.

use std::os::unix::process::ExitStatusExt;

use nix::sys::signal::Signal;

use super::child::Finished;
use super::{ExecOutput, ExecParams};
use crate::worker::JobError;

/// The job's result for a program that exited 0; otherwise its error,
/// which gives the exit status and the last lines of stderr.
///
/// An exit code listed in `transient_exit_codes`, or death by a signal
/// (an out-of-memory kill, say), is transient; any other non-zero exit is
/// permanent.
pub(crate) fn judge(params: &ExecParams, finished: Finished) -> Result<ExecOutput, JobError> {
    let status = finished.status;
    let (failure, transient) = match (status.code(), status.signal()) {
        (Some(0), _) => {
            return Ok(ExecOutput {
                exit_code: 0,
                stdout_tail: finished.stdout_tail,
                stderr_tail: finished.stderr_tail,
            })
        }
        (Some(code), _) => (
            format!("exited with code {code}"),
            params.transient_exit_codes.contains(&code),
        ),
        (None, Some(signal)) => (format!("was killed by {}", signal_name(signal)), true),
        (None, None) => (format!("ended abnormally ({status})"), true),
    };
    let message = describe(&params.program, &failure, &finished.stderr_tail);
    Err(if transient {
        JobError::transient(message)
    } else {
        JobError::permanent(message)
    })
}

/// "SIGKILL (signal 9)", or "signal 64" for one nix does not name.
fn signal_name(signal: i32) -> String {
    match Signal::try_from(signal) {
        Ok(known) => format!("{} (signal {signal})", known.as_str()),
        Err(_) => format!("signal {signal}"),
    }
}

fn describe(program: &str, failure: &str, stderr_tail: &[String]) -> String {
    if stderr_tail.is_empty() {
        format!("{program:?} {failure}; stderr was empty")
    } else {
        format!(
            "{program:?} {failure}; last lines of stderr:\n{}",
            stderr_tail.join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use std::process::ExitStatus;

    use super::*;
    use crate::worker::JobErrorKind;

    fn finished(raw_wait_status: i32, stderr: &[&str]) -> Finished {
        Finished {
            status: ExitStatus::from_raw(raw_wait_status),
            stdout_tail: vec!["out".into()],
            stderr_tail: stderr.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn exited(code: i32) -> i32 {
        code << 8
    }

    #[test]
    fn exit_zero_is_the_result() {
        let output = judge(&ExecParams::new("tool"), finished(exited(0), &["warn"])).unwrap();
        assert_eq!(output.exit_code, 0);
        assert_eq!(output.stdout_tail, ["out"]);
        assert_eq!(output.stderr_tail, ["warn"]);
    }

    #[test]
    fn other_codes_are_permanent_unless_listed() {
        let params = ExecParams::new("tool").transient_exit_codes([75]);
        let err = judge(&params, finished(exited(3), &["disk full"])).unwrap_err();
        assert_eq!(err.kind(), JobErrorKind::Permanent);
        assert_eq!(
            err.message(),
            "\"tool\" exited with code 3; last lines of stderr:\ndisk full"
        );
        let err = judge(&params, finished(exited(75), &[])).unwrap_err();
        assert_eq!(err.kind(), JobErrorKind::Transient);
        assert_eq!(
            err.message(),
            "\"tool\" exited with code 75; stderr was empty"
        );
    }

    #[test]
    fn a_signal_is_transient() {
        let err = judge(&ExecParams::new("tool"), finished(9, &[])).unwrap_err();
        assert_eq!(err.kind(), JobErrorKind::Transient);
        assert!(err.message().contains("SIGKILL (signal 9)"), "{err}");
    }
}
