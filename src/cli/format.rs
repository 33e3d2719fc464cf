//! How jobs are shown on the command line.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::CliError;
use crate::http::JobResponse;
use crate::{Job, JobStatus, JobStore};

/// A job with its place in the queue. `--json` prints it as the HTTP API
/// and its event streams do ([`JobResponse`]): one shape everywhere.
#[derive(Debug)]
pub(super) struct JobView {
    pub job: Job,
    /// Jobs ahead of it, while pending.
    pub queue_position: Option<u64>,
}

impl Serialize for JobView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JobResponse::new(self.job.clone(), self.queue_position).serialize(serializer)
    }
}

impl JobView {
    /// The job with its queue position looked up (pending jobs only).
    pub async fn load(store: &dyn JobStore, job: Job) -> Result<Self, CliError> {
        let queue_position = if job.status == JobStatus::Pending {
            store.queue_position(job.id).await?
        } else {
            None
        };
        Ok(JobView {
            job,
            queue_position,
        })
    }

    /// The status, with the queue position of a pending job (or when a
    /// scheduled one becomes due).
    pub fn status(&self) -> String {
        match self.queue_position {
            Some(ahead) => format!("pending ({ahead} ahead)"),
            None if self.job.status == JobStatus::Pending => {
                match scheduled_in(self.job.run_at, Utc::now()) {
                    Some(wait) => format!("scheduled, in {wait}"),
                    None => "pending".into(),
                }
            }
            None if self.job.cancel_requested && self.job.status == JobStatus::Running => {
                "running (cancel requested)".into()
            }
            None => self.job.status.to_string(),
        }
    }
}

/// How long until `run_at`, rounded to what a person reads (`35m`, `2h
/// 5m`, `12s`); `None` once it is due.
pub(super) fn scheduled_in(run_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    let wait = (run_at - now).to_std().ok().filter(|w| !w.is_zero())?;
    let secs = wait.as_secs().max(1);
    let nearest = |unit: u64| (secs + unit / 2) / unit * unit;
    let rounded = match secs {
        0..=59 => secs,
        60..=3599 => nearest(60),
        3600..=86_399 => nearest(300),
        _ => nearest(3600),
    };
    Some(humantime::format_duration(std::time::Duration::from_secs(rounded)).to_string())
}

/// The stage and, when the stage measures it, the percent.
pub(super) fn progress(job: &Job) -> String {
    match (&job.stage, job.progress) {
        (Some(stage), Some(percent)) => format!("{stage} {}", percent_text(percent)),
        (Some(stage), None) => stage.clone(),
        (None, _) => "-".into(),
    }
}

/// A percent with at most one decimal: `42%`, `42.5%`.
pub(super) fn percent_text(percent: f32) -> String {
    if percent.fract() == 0.0 {
        format!("{percent:.0}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// Attempts made out of those allowed.
pub(super) fn attempts(job: &Job) -> String {
    format!("{} of {}", job.attempt, job.max_attempts)
}

/// A time to the second, in UTC.
pub(super) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An error in one line that keeps its cause: the first line, and when it
/// introduces lines that follow (an `exec` job's "last lines of stderr:"),
/// the last of them.
pub(super) fn error_summary(error: &str) -> String {
    let mut lines = error.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("-");
    match lines.next_back() {
        Some(last) if first.ends_with(':') => format!("{first} {last}"),
        Some(_) => format!("{first} (…)"),
        None => first.to_string(),
    }
}

/// A job's result in one line: an `exec` job's exit code and last line of
/// output, or the JSON cut to a readable length.
pub(super) fn result_summary(result: &serde_json::Value) -> String {
    if let Some(code) = result.get("exit_code").and_then(serde_json::Value::as_i64) {
        let last = result["stdout_tail"]
            .as_array()
            .and_then(|lines| lines.last())
            .and_then(|line| line.as_str());
        return match last {
            Some(line) => format!("exit {code}; last line: {line}"),
            None => format!("exit {code}; no output"),
        };
    }
    let text = result.to_string();
    const MAX: usize = 120;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}… (jobstore show --json for all of it)")
    } else {
        text
    }
}

/// JSON for scripts.
pub(super) fn json<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_reads_rounded_to_what_a_person_reads() {
        let now = Utc::now();
        let at = |secs: i64| scheduled_in(now + chrono::Duration::seconds(secs), now);
        assert_eq!(at(0), None);
        assert_eq!(at(-5), None);
        assert_eq!(at(12).as_deref(), Some("12s"));
        assert_eq!(at(599).as_deref(), Some("10m"));
        assert_eq!(at(35 * 60 + 10).as_deref(), Some("35m"));
        assert_eq!(at(2 * 3600 + 4 * 60).as_deref(), Some("2h 5m"));
        assert_eq!(at(3 * 86_400 + 100).as_deref(), Some("3days"));
    }

    #[test]
    fn an_error_summary_keeps_the_cause() {
        assert_eq!(
            error_summary(
                "\"sh\" exited with code 3; last lines of stderr:\nloading\nno such table: users\n"
            ),
            "\"sh\" exited with code 3; last lines of stderr: no such table: users"
        );
        assert_eq!(error_summary("timed out"), "timed out");
        assert_eq!(error_summary("bad\nmore"), "bad (…)");
    }

    #[test]
    fn a_result_summary_is_one_readable_line() {
        let exec =
            serde_json::json!({"exit_code": 0, "stdout_tail": ["a", "done"], "stderr_tail": []});
        assert_eq!(result_summary(&exec), "exit 0; last line: done");
        let long = serde_json::json!({"data": "x".repeat(500)});
        assert!(result_summary(&long).ends_with("(jobstore show --json for all of it)"));
        assert_eq!(result_summary(&serde_json::json!(42)), "42");
    }
}
