//! A cron schedule: what a caller declares, and what the store keeps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CronError, CronExpression};
use crate::error::StoreError;
use crate::job::{JobId, NewJob};

/// The correlation id of every job a schedule enqueues: `cron:NAME`.
///
/// List a schedule's runs with
/// `ListQuery::default().correlation_id(cron::correlation_id("nightly"))`.
pub fn correlation_id(schedule_name: &str) -> String {
    format!("{CORRELATION_PREFIX}{schedule_name}")
}

const CORRELATION_PREFIX: &str = "cron:";

/// A schedule to create, or to update when one with its name exists.
///
/// Declaring the same schedule again changes nothing, so a service can
/// declare its schedules at every start:
///
/// ```
/// use jobstore::cron::NewCronSchedule;
///
/// let nightly = NewCronSchedule::new("nightly-report", "report", "30 2 * * *")
///     .timezone("Europe/Berlin")
///     .params(serde_json::json!({ "format": "pdf" }))
///     .max_attempts(3);
/// assert_eq!(nightly.name(), "nightly-report");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewCronSchedule {
    pub(crate) name: String,
    pub(crate) job_type: String,
    pub(crate) expression: String,
    pub(crate) timezone: String,
    pub(crate) params: serde_json::Value,
    pub(crate) max_attempts: u32,
}

impl NewCronSchedule {
    /// The longest schedule name accepted, in bytes.
    pub const MAX_NAME_LEN: usize = 128;
    /// The timezone unless told otherwise.
    pub const DEFAULT_TIMEZONE: &'static str = "UTC";

    /// A schedule named `name` that enqueues a `job_type` job with empty
    /// params (`{}`) at every tick of `expression`, read in UTC.
    pub fn new(
        name: impl Into<String>,
        job_type: impl Into<String>,
        expression: impl Into<String>,
    ) -> Self {
        NewCronSchedule {
            name: name.into(),
            job_type: job_type.into(),
            expression: expression.into(),
            timezone: Self::DEFAULT_TIMEZONE.to_string(),
            params: serde_json::json!({}),
            max_attempts: NewJob::DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Reads the expression in the IANA timezone `timezone`.
    pub fn timezone(mut self, timezone: impl Into<String>) -> Self {
        self.timezone = timezone.into();
        self
    }

    /// The params of every enqueued job.
    pub fn params(mut self, params: serde_json::Value) -> Self {
        self.params = params;
        self
    }

    /// The attempts every enqueued job gets (default 2).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// The schedule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks every field, and returns the parsed expression.
    pub fn validate(&self) -> Result<CronExpression, StoreError> {
        validate_name(&self.name)?;
        let expression = CronExpression::parse(&self.expression, &self.timezone)?;
        crate::job::prepare(&self.job_at(Utc::now()), Utc::now(), None)?;
        Ok(expression)
    }

    /// The job this schedule enqueues for the tick at `tick`.
    pub(crate) fn job_at(&self, tick: DateTime<Utc>) -> NewJob {
        NewJob::new(self.job_type.clone(), self.params.clone())
            .max_attempts(self.max_attempts)
            .correlation_id(correlation_id(&self.name))
            .run_at(tick)
    }
}

/// Checks a schedule name: 1 to [`NewCronSchedule::MAX_NAME_LEN`] bytes, not
/// blank, no control characters.
pub(crate) fn validate_name(name: &str) -> Result<(), CronError> {
    let invalid = |reason: &str| {
        Err(CronError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.trim().is_empty() {
        return invalid("it must not be empty");
    }
    if name.len() > NewCronSchedule::MAX_NAME_LEN {
        return invalid(&format!(
            "it is {} bytes long; at most {} are allowed",
            name.len(),
            NewCronSchedule::MAX_NAME_LEN
        ));
    }
    if name.chars().any(char::is_control) {
        return invalid("it must not hold control characters");
    }
    Ok(())
}

/// A stored cron schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CronSchedule {
    /// The unique name.
    pub name: String,
    /// The type of every enqueued job.
    pub job_type: String,
    /// The cron expression.
    pub cron_expression: String,
    /// The IANA timezone the expression is read in.
    pub timezone: String,
    /// The params of every enqueued job.
    pub params: serde_json::Value,
    /// The attempts every enqueued job gets.
    pub max_attempts: u32,
    /// Whether the schedule fires.
    pub enabled: bool,
    /// The tick fired last.
    pub last_run_at: Option<DateTime<Utc>>,
    /// The tick the schedule waits for.
    pub next_run_at: DateTime<Utc>,
    /// The job enqueued for the last tick.
    pub last_job_id: Option<JobId>,
    /// When the schedule was first declared.
    pub created_at: DateTime<Utc>,
    /// When the schedule last changed (declared, enabled, disabled, fired).
    pub updated_at: DateTime<Utc>,
}

impl CronSchedule {
    /// The correlation id of this schedule's jobs.
    pub fn correlation_id(&self) -> String {
        correlation_id(&self.name)
    }

    /// The parsed expression.
    pub fn expression(&self) -> Result<CronExpression, CronError> {
        CronExpression::parse(&self.cron_expression, &self.timezone)
    }

    /// The declaration this schedule was made from.
    pub(crate) fn declaration(&self) -> NewCronSchedule {
        NewCronSchedule {
            name: self.name.clone(),
            job_type: self.job_type.clone(),
            expression: self.cron_expression.clone(),
            timezone: self.timezone.clone(),
            params: self.params.clone(),
            max_attempts: self.max_attempts,
        }
    }
}

/// One tick fired: the job it enqueued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredTick {
    /// The schedule.
    pub schedule: String,
    /// The type of the enqueued job.
    pub job_type: String,
    /// The tick fired (the job's `run_at`); after downtime, the first of the
    /// missed ticks it stands for.
    pub tick: DateTime<Utc>,
    /// The enqueued job.
    pub job_id: JobId,
}

/// What one pass over the due schedules did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronFiring {
    /// The ticks this pass fired (ticks other workers fired are not here).
    pub fired: Vec<FiredTick>,
    /// The earliest tick of any enabled schedule after this pass.
    pub next_tick: Option<DateTime<Utc>>,
    /// Schedules that are due but could not be fired (a stored expression
    /// or timezone this binary cannot read), with the reason.
    pub skipped: Vec<String>,
}
