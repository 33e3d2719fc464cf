//! The statements of cron schedules on the libSQL backend, mirroring the
//! Diesel ones.

use chrono::{DateTime, Utc};
use libsql::{Connection, Value};

use super::db_error;
use super::queries::{execute, first, insert, millis};
use super::row::{opt_int, opt_text, Reader};
use crate::cron::rules::Fire;
use crate::cron::CronSchedule;
use crate::error::{StoreError, StoreResult};
use crate::store::sqlite::cron_row::CronRow;
use crate::time;

/// Every column of `cron_jobs`, in the order [`schedule_from`] reads them.
const COLUMNS: &str = "name, job_type, cron_expression, timezone, params, max_attempts, \
     enabled, last_run_at, next_run_at, last_job_id, created_at, updated_at";

fn schedule_from(r: Reader<'_>) -> StoreResult<CronSchedule> {
    CronRow {
        name: r.text(0)?,
        job_type: r.text(1)?,
        cron_expression: r.text(2)?,
        timezone: r.text(3)?,
        params: r.text(4)?,
        max_attempts: r.int32(5)?,
        enabled: r.int(6)? != 0,
        last_run_at: r.opt_int(7)?,
        next_run_at: r.int(8)?,
        last_job_id: r.opt_text(9)?,
        created_at: r.int(10)?,
        updated_at: r.int(11)?,
    }
    .try_into()
}

async fn schedules(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> StoreResult<Vec<CronSchedule>> {
    let mut rows = conn.query(sql, params).await.map_err(db_error)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().await.map_err(db_error)? {
        found.push(schedule_from(Reader(&row))?);
    }
    Ok(found)
}

/// The schedule named `name`, if any.
pub(crate) async fn find(conn: &Connection, name: &str) -> StoreResult<Option<CronSchedule>> {
    first(
        conn,
        &format!("SELECT {COLUMNS} FROM cron_jobs WHERE name = ?1"),
        vec![Value::Text(name.to_string())],
        schedule_from,
    )
    .await
}

/// The schedule named `name`, or [`StoreError::ScheduleNotFound`].
pub(crate) async fn get(conn: &Connection, name: &str) -> StoreResult<CronSchedule> {
    find(conn, name)
        .await?
        .ok_or_else(|| StoreError::ScheduleNotFound(name.to_string()))
}

/// Every schedule, by name.
pub(crate) async fn list(conn: &Connection) -> StoreResult<Vec<CronSchedule>> {
    schedules(
        conn,
        &format!("SELECT {COLUMNS} FROM cron_jobs ORDER BY name"),
        Vec::new(),
    )
    .await
}

/// Inserts `schedule`, or overwrites the row with its name.
pub(crate) async fn save(conn: &Connection, schedule: &CronSchedule) -> StoreResult<()> {
    let row = CronRow::try_from(schedule)?;
    execute(
        conn,
        &format!(
            "INSERT INTO cron_jobs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (name) DO UPDATE SET job_type = ?2, cron_expression = ?3, timezone = ?4, \
             params = ?5, max_attempts = ?6, enabled = ?7, last_run_at = ?8, next_run_at = ?9, \
             last_job_id = ?10, created_at = ?11, updated_at = ?12"
        ),
        vec![
            Value::Text(row.name),
            Value::Text(row.job_type),
            Value::Text(row.cron_expression),
            Value::Text(row.timezone),
            Value::Text(row.params),
            Value::Integer(i64::from(row.max_attempts)),
            Value::Integer(i64::from(row.enabled)),
            opt_int(row.last_run_at),
            Value::Integer(row.next_run_at),
            opt_text(row.last_job_id),
            Value::Integer(row.created_at),
            Value::Integer(row.updated_at),
        ],
    )
    .await?;
    Ok(())
}

/// Deletes the schedule named `name`.
pub(crate) async fn delete(conn: &Connection, name: &str) -> StoreResult<()> {
    let deleted = execute(
        conn,
        "DELETE FROM cron_jobs WHERE name = ?1",
        vec![Value::Text(name.to_string())],
    )
    .await?;
    if deleted == 0 {
        return Err(StoreError::ScheduleNotFound(name.to_string()));
    }
    Ok(())
}

/// Enabled schedules whose tick is due at `now`, earliest first.
pub(crate) async fn due(conn: &Connection, now: DateTime<Utc>) -> StoreResult<Vec<CronSchedule>> {
    schedules(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM cron_jobs WHERE enabled = 1 AND next_run_at <= ?1 \
             ORDER BY next_run_at"
        ),
        vec![millis(now)],
    )
    .await
}

/// The earliest tick of any enabled schedule.
pub(crate) async fn next_tick(conn: &Connection) -> StoreResult<Option<DateTime<Utc>>> {
    let earliest = first(
        conn,
        "SELECT min(next_run_at) FROM cron_jobs WHERE enabled = 1",
        Vec::new(),
        |r| r.opt_int(0),
    )
    .await?
    .flatten();
    earliest.map(time::from_millis).transpose()
}

/// Fires one tick of `fire.schedule`: moves `next_run_at` from the tick
/// to the next one (compare-and-set) and, only when that write won,
/// enqueues the job. Returns whether this call fired the tick.
pub(crate) async fn fire(conn: &Connection, fire: &Fire, now: DateTime<Utc>) -> StoreResult<bool> {
    let won = execute(
        conn,
        "UPDATE cron_jobs SET next_run_at = ?3, last_run_at = ?2, last_job_id = ?4, \
         updated_at = ?5 WHERE name = ?1 AND enabled = 1 AND next_run_at = ?2",
        vec![
            Value::Text(fire.schedule.clone()),
            millis(fire.tick),
            millis(fire.next_run_at),
            Value::Text(fire.job.job.id.to_string()),
            millis(now),
        ],
    )
    .await?;
    if won == 1 {
        insert(conn, std::slice::from_ref(&fire.job)).await?;
    }
    Ok(won == 1)
}
