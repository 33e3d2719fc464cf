//! The `cron_jobs` row as Diesel reads and writes it, and its conversion to
//! and from [`CronSchedule`].

use diesel::prelude::*;

use super::row::{count_from_db, count_to_db, id_from_db, json_from_db, optional_time};
use crate::cron::CronSchedule;
use crate::error::{StoreError, StoreResult};
use crate::schema::cron_jobs;
use crate::time;

/// One row of `cron_jobs`, column for column.
#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cron_jobs, check_for_backend(diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
pub(crate) struct CronRow {
    pub name: String,
    pub job_type: String,
    pub cron_expression: String,
    pub timezone: String,
    pub params: String,
    pub max_attempts: i32,
    pub enabled: bool,
    pub last_run_at: Option<i64>,
    pub next_run_at: i64,
    pub last_job_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<CronRow> for CronSchedule {
    type Error = StoreError;

    fn try_from(row: CronRow) -> StoreResult<CronSchedule> {
        Ok(CronSchedule {
            params: json_from_db(&row.params, "params")?,
            max_attempts: count_from_db(row.max_attempts, "max_attempts")?,
            last_run_at: optional_time(row.last_run_at)?,
            next_run_at: time::from_millis(row.next_run_at)?,
            last_job_id: row.last_job_id.as_deref().map(id_from_db).transpose()?,
            created_at: time::from_millis(row.created_at)?,
            updated_at: time::from_millis(row.updated_at)?,
            name: row.name,
            job_type: row.job_type,
            cron_expression: row.cron_expression,
            timezone: row.timezone,
            enabled: row.enabled,
        })
    }
}

impl TryFrom<&CronSchedule> for CronRow {
    type Error = StoreError;

    fn try_from(schedule: &CronSchedule) -> StoreResult<CronRow> {
        Ok(CronRow {
            name: schedule.name.clone(),
            job_type: schedule.job_type.clone(),
            cron_expression: schedule.cron_expression.clone(),
            timezone: schedule.timezone.clone(),
            params: serde_json::to_string(&schedule.params)
                .map_err(|e| StoreError::InvalidInput(format!("params are not valid JSON: {e}")))?,
            max_attempts: count_to_db(schedule.max_attempts)?,
            enabled: schedule.enabled,
            last_run_at: schedule.last_run_at.map(time::to_millis),
            next_run_at: time::to_millis(schedule.next_run_at),
            last_job_id: schedule.last_job_id.map(|id| id.to_string()),
            created_at: time::to_millis(schedule.created_at),
            updated_at: time::to_millis(schedule.updated_at),
        })
    }
}
