//! What the cron endpoints take.

use serde::{Deserialize, Serialize};

use crate::cron::NewCronSchedule;

/// The body of `PUT /cron/{name}`: declares the schedule `name` (creates
/// it, or updates the one with that name; idempotent).
///
/// ```json
/// {"job_type": "report", "cron_expression": "30 2 * * *",
///  "timezone": "Europe/Berlin", "params": {"format": "pdf"}, "max_attempts": 3}
/// ```
///
/// `job_type` and `cron_expression` are required; `timezone` defaults to
/// UTC, `params` to `{}`. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclareScheduleRequest {
    /// The type of every enqueued job.
    pub job_type: String,
    /// The cron expression (5 fields, or 6 with seconds first).
    pub cron_expression: String,
    /// The IANA timezone the expression is read in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The params of every enqueued job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
    /// The attempts every enqueued job gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}

impl DeclareScheduleRequest {
    /// The schedule this request declares under `name`.
    pub fn into_schedule(self, name: &str) -> NewCronSchedule {
        let mut schedule = NewCronSchedule::new(name, self.job_type, self.cron_expression);
        if let Some(timezone) = self.timezone {
            schedule = schedule.timezone(timezone);
        }
        if let Some(params) = self.params {
            schedule = schedule.params(params);
        }
        if let Some(n) = self.max_attempts {
            schedule = schedule.max_attempts(n);
        }
        schedule
    }
}
