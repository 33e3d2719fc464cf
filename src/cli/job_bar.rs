//! A live progress bar for one job: a bar with the percent when the stage
//! measures one, a spinner with the stage name when it does not.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::format;
use super::CliError;
use crate::{Job, JobStatus};

/// One job's bar.
pub(super) struct JobBar {
    bar: ProgressBar,
    measured: ProgressStyle,
    spinning: ProgressStyle,
}

impl JobBar {
    /// Wraps `bar`, labelled with `label`.
    pub fn new(bar: ProgressBar, label: &str) -> Result<Self, CliError> {
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .map(|s| s.progress_chars("=> "))
                .map_err(|e| CliError::Output(e.to_string()))
        };
        let measured = style("{prefix:<14} [{bar:30.cyan/blue}] {pos:>3}% {msg}")?;
        let spinning = style("{prefix:<14} {spinner:.cyan} {msg}")?;
        bar.set_prefix(label.to_string());
        bar.set_length(100);
        bar.set_style(spinning.clone());
        bar.enable_steady_tick(Duration::from_millis(100));
        Ok(JobBar {
            bar,
            measured,
            spinning,
        })
    }

    /// Shows the job as it is now; `ahead` is its queue position while
    /// pending.
    pub fn update(&self, job: &Job, ahead: Option<u64>) {
        match (job.status, &job.stage, job.progress) {
            (JobStatus::Pending, _, _) => {
                self.bar.set_style(self.spinning.clone());
                let retry = if job.retry_count > 0 {
                    format!(
                        ", retry {} after: {}",
                        job.retry_count,
                        job.error.as_deref().unwrap_or("-")
                    )
                } else {
                    String::new()
                };
                let scheduled = super::format::scheduled_in(job.run_at, chrono::Utc::now());
                self.bar.set_message(match (ahead, scheduled) {
                    (Some(n), _) => format!("queued, {n} ahead{retry}"),
                    (None, Some(wait)) => format!("scheduled, in {wait}{retry}"),
                    (None, None) => format!("queued{retry}"),
                });
            }
            (JobStatus::Running, Some(stage), Some(percent)) => {
                self.bar.set_style(self.measured.clone());
                self.bar.set_position(percent.clamp(0.0, 100.0) as u64);
                self.bar.set_message(stage.clone());
            }
            (JobStatus::Running, stage, None) => {
                self.bar.set_style(self.spinning.clone());
                self.bar
                    .set_message(stage.clone().unwrap_or_else(|| "starting".into()));
            }
            (JobStatus::Running, None, Some(_)) => {}
            (_, _, _) => self.finish(job),
        }
    }

    /// Leaves the bar with the job's outcome.
    pub fn finish(&self, job: &Job) {
        self.bar.set_style(self.spinning.clone());
        self.bar.finish_with_message(outcome(job));
    }

    /// Takes the bar off the screen (its caller prints the outcome once).
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// One line saying how a finished job ended.
pub(super) fn outcome(job: &Job) -> String {
    match job.status {
        JobStatus::Completed => format!(
            "completed: {}",
            job.result
                .as_ref()
                .map_or("-".into(), format::result_summary)
        ),
        JobStatus::Failed => format!(
            "failed: {}",
            format::error_summary(job.error.as_deref().unwrap_or("-"))
        ),
        JobStatus::Cancelled => "cancelled".into(),
        status => format!("{status} ({})", format::progress(job)),
    }
}
