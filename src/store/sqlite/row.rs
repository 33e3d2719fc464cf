//! The `jobs` row as Diesel reads and writes it, and its conversion to and
//! from [`Job`].

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::job::{Job, JobId, JobStatus};
use crate::schema::jobs;
use crate::store::rules::PreparedJob;
use crate::time;

/// One row of `jobs`, column for column.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs, check_for_backend(diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct JobRow {
    pub id: String,
    pub job_type: String,
    pub status: String,
    pub stage: Option<String>,
    pub progress: Option<f32>,
    pub params: String,
    pub result: Option<String>,
    pub error: Option<String>,
    pub retry_count: i32,
    pub max_attempts: i32,
    pub attempt: i32,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub cancel_requested: bool,
    pub retry_of: Option<String>,
    pub correlation_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

/// A stored counter as `u32`.
pub(crate) fn count_from_db(value: i32, column: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} is negative ({value})")))
}

/// A counter as stored.
pub(crate) fn count_to_db(value: u32) -> StoreResult<i32> {
    i32::try_from(value)
        .map_err(|_| StoreError::InvalidInput(format!("count {value} is too large to store")))
}

/// A stored id as a [`JobId`].
pub(crate) fn id_from_db(value: &str) -> StoreResult<JobId> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("stored job id: {e}")))
}

/// A stored status as a [`JobStatus`].
pub(crate) fn status_from_db(value: &str) -> StoreResult<JobStatus> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("stored status: {e}")))
}

pub(crate) fn json_from_db(value: &str, column: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(value)
        .map_err(|e| StoreError::Corrupt(format!("{column} is not valid JSON: {e}")))
}

pub(crate) fn optional_time(
    value: Option<i64>,
) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    value.map(time::from_millis).transpose()
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(row: JobRow) -> StoreResult<Job> {
        Ok(Job {
            id: id_from_db(&row.id)?,
            job_type: row.job_type,
            status: status_from_db(&row.status)?,
            stage: row.stage,
            progress: row.progress,
            params: json_from_db(&row.params, "params")?,
            result: row
                .result
                .as_deref()
                .map(|r| json_from_db(r, "result"))
                .transpose()?,
            error: row.error,
            retry_count: count_from_db(row.retry_count, "retry_count")?,
            max_attempts: count_from_db(row.max_attempts, "max_attempts")?,
            attempt: count_from_db(row.attempt, "attempt")?,
            run_at: time::from_millis(row.run_at)?,
            locked_by: row.locked_by,
            lease_expires_at: optional_time(row.lease_expires_at)?,
            cancel_requested: row.cancel_requested,
            retry_of: row.retry_of.as_deref().map(id_from_db).transpose()?,
            correlation_id: row.correlation_id,
            created_at: time::from_millis(row.created_at)?,
            updated_at: time::from_millis(row.updated_at)?,
            started_at: optional_time(row.started_at)?,
            completed_at: optional_time(row.completed_at)?,
        })
    }
}

impl TryFrom<&PreparedJob> for JobRow {
    type Error = StoreError;

    fn try_from(prepared: &PreparedJob) -> StoreResult<JobRow> {
        let job = &prepared.job;
        Ok(JobRow {
            id: job.id.to_string(),
            job_type: job.job_type.clone(),
            status: job.status.as_str().to_string(),
            stage: job.stage.clone(),
            progress: job.progress,
            params: prepared.params_json.clone(),
            result: None,
            error: job.error.clone(),
            retry_count: count_to_db(job.retry_count)?,
            max_attempts: count_to_db(job.max_attempts)?,
            attempt: count_to_db(job.attempt)?,
            run_at: time::to_millis(job.run_at),
            locked_by: job.locked_by.clone(),
            lease_expires_at: job.lease_expires_at.map(time::to_millis),
            cancel_requested: job.cancel_requested,
            retry_of: job.retry_of.map(|id| id.to_string()),
            correlation_id: job.correlation_id.clone(),
            created_at: time::to_millis(job.created_at),
            updated_at: time::to_millis(job.updated_at),
            started_at: job.started_at.map(time::to_millis),
            completed_at: job.completed_at.map(time::to_millis),
        })
    }
}
