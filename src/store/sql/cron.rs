//! Cron schedules: the `cron_jobs` row and its statements.

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::create;
use super::job_row::{id_from_db, json_from_db, optional_time, COLUMNS, COLUMN_COUNT};
use super::value::{Row, Value};
use super::Outputs;
use crate::cron::rules::Fire;
use crate::cron::CronSchedule;
use crate::error::{StoreError, StoreResult};
use crate::time;

/// Every column of `cron_jobs`, in the order [`schedule_from_row`] reads
/// them and [`save`] binds them (text a caller chose read as a blob, as in
/// [`SELECTED`](super::job_row::SELECTED)).
const CRON_COLUMNS: &str = "name, job_type, cron_expression, timezone, params, max_attempts, \
     enabled, last_run_at, next_run_at, last_job_id, created_at, updated_at";
const CRON_SELECTED: &str = "CAST(name AS BLOB), CAST(job_type AS BLOB), \
     CAST(cron_expression AS BLOB), CAST(timezone AS BLOB), params, max_attempts, enabled, \
     last_run_at, next_run_at, last_job_id, created_at, updated_at";

fn schedule_from_row(row: &Row) -> StoreResult<CronSchedule> {
    Ok(CronSchedule {
        name: row.text(0)?,
        job_type: row.text(1)?,
        cron_expression: row.text(2)?,
        timezone: row.text(3)?,
        params: json_from_db(&row.text(4)?, "params")?,
        max_attempts: row.count(5)?,
        enabled: row.flag(6)?,
        last_run_at: optional_time(row.opt_int(7)?)?,
        next_run_at: time::from_millis(row.int(8)?)?,
        last_job_id: row.opt_text(9)?.as_deref().map(id_from_db).transpose()?,
        created_at: time::from_millis(row.int(10)?)?,
        updated_at: time::from_millis(row.int(11)?)?,
    })
}

/// The schedule named `name`.
pub(crate) fn get(name: &str) -> Batch {
    Batch::read(vec![Statement::query(
        format!("SELECT {CRON_SELECTED} FROM cron_jobs WHERE name = ?1"),
        vec![name.into()],
    )])
}

/// The schedule [`get`] read, if any.
pub(crate) fn found(mut outputs: Outputs) -> StoreResult<Option<CronSchedule>> {
    outputs
        .next_rows()?
        .first()
        .map(schedule_from_row)
        .transpose()
}

/// Every schedule, by name.
pub(crate) fn list() -> Batch {
    Batch::read(vec![Statement::query(
        format!("SELECT {CRON_SELECTED} FROM cron_jobs ORDER BY name"),
        Vec::new(),
    )])
}

/// The schedules [`list`] read.
pub(crate) fn listed(mut outputs: Outputs) -> StoreResult<Vec<CronSchedule>> {
    outputs.next_rows()?.iter().map(schedule_from_row).collect()
}

/// Inserts `schedule`, or overwrites the row with its name.
pub(crate) fn save(schedule: &CronSchedule) -> StoreResult<Batch> {
    let params = serde_json::to_string(&schedule.params)
        .map_err(|e| StoreError::InvalidInput(format!("params are not valid JSON: {e}")))?;
    let values = vec![
        Value::from(schedule.name.as_str()),
        Value::from(schedule.job_type.as_str()),
        Value::from(schedule.cron_expression.as_str()),
        Value::from(schedule.timezone.as_str()),
        Value::Text(params),
        Value::from(schedule.max_attempts),
        Value::from(schedule.enabled),
        Value::from(schedule.last_run_at.map(time::to_millis)),
        Value::from(time::to_millis(schedule.next_run_at)),
        Value::from(schedule.last_job_id.map(|id| id.to_string())),
        Value::from(time::to_millis(schedule.created_at)),
        Value::from(time::to_millis(schedule.updated_at)),
    ];
    let placeholders: Vec<String> = (1..=values.len()).map(|n| format!("?{n}")).collect();
    let updates: Vec<String> = CRON_COLUMNS
        .split(", ")
        .skip(1)
        .map(|column| format!("{column} = excluded.{column}"))
        .collect();
    Ok(Batch::write(vec![Statement::execute(
        format!(
            "INSERT INTO cron_jobs ({CRON_COLUMNS}) VALUES ({}) ON CONFLICT (name) DO UPDATE SET {}",
            placeholders.join(", "),
            updates.join(", ")
        ),
        values,
    )]))
}

/// Deletes the schedule named `name` (its jobs stay).
pub(crate) fn delete(name: &str) -> Batch {
    Batch::write(vec![Statement::execute(
        "DELETE FROM cron_jobs WHERE name = ?1",
        vec![name.into()],
    )])
}

/// The enabled schedules whose tick is due at `now`, earliest first, and
/// the earliest tick of any enabled schedule (both on the due index).
pub(crate) fn due(now: DateTime<Utc>) -> Batch {
    Batch::read(vec![
        Statement::query(
            format!(
                "SELECT {CRON_SELECTED} FROM cron_jobs WHERE enabled = 1 AND next_run_at <= ?1 \
                 ORDER BY next_run_at"
            ),
            vec![time::to_millis(now).into()],
        ),
        next_tick(),
    ])
}

/// What [`due`] read: the due schedules and the next tick.
pub(crate) fn dues(
    mut outputs: Outputs,
) -> StoreResult<(Vec<CronSchedule>, Option<DateTime<Utc>>)> {
    let due = outputs
        .next_rows()?
        .iter()
        .map(schedule_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((due, read_next_tick(&mut outputs)?))
}

/// Fires each tick of `fires`: moves the schedule's `next_run_at` from the
/// tick to the next one (a compare-and-set: only one firing of a tick
/// matches) and, only where that write won, enqueues the tick's job (the
/// insert reads the `last_job_id` the winning write set). Two statements
/// per tick, all in one transaction, then the earliest tick now waited
/// for.
pub(crate) fn fire(fires: &[Fire], now: DateTime<Utc>) -> Batch {
    let now = time::to_millis(now);
    let mut statements = Vec::with_capacity(fires.len() * 2);
    for fire in fires {
        let tick = time::to_millis(fire.tick);
        let job_id = fire.job.job.id.to_string();
        statements.push(Statement::execute(
            "UPDATE cron_jobs SET next_run_at = ?3, last_run_at = ?2, last_job_id = ?4, \
             updated_at = ?5 WHERE name = ?1 AND enabled = 1 AND next_run_at = ?2",
            vec![
                fire.schedule.as_str().into(),
                tick.into(),
                time::to_millis(fire.next_run_at).into(),
                job_id.clone().into(),
                now.into(),
            ],
        ));
        let mut insert = create::insert(std::slice::from_ref(&fire.job));
        if let Some(statement) = insert.pop() {
            let values: Vec<String> = (1..=COLUMN_COUNT).map(|n| format!("?{n}")).collect();
            let mut params = statement.params;
            params.push(fire.schedule.as_str().into());
            statements.push(Statement::execute(
                format!(
                    "INSERT INTO jobs ({COLUMNS}) SELECT {} WHERE EXISTS (SELECT 1 FROM cron_jobs \
                     WHERE name = ?{} AND last_job_id = ?1)",
                    values.join(", "),
                    COLUMN_COUNT + 1
                ),
                params,
            ));
        }
    }
    statements.push(next_tick());
    Batch::write(statements)
}

/// The earliest tick of any enabled schedule (on the due index).
pub(crate) fn next_tick() -> Statement {
    Statement::query(
        "SELECT min(next_run_at) FROM cron_jobs WHERE enabled = 1",
        Vec::new(),
    )
}

/// The tick a [`next_tick`] statement read.
pub(crate) fn read_next_tick(outputs: &mut Outputs) -> StoreResult<Option<DateTime<Utc>>> {
    let next = outputs
        .next_rows()?
        .first()
        .map(|row| row.opt_int(0))
        .transpose()?
        .flatten();
    optional_time(next)
}

/// Which of `fires` [`fire`] won, and the earliest tick now waited for.
pub(crate) fn fired(
    fires: &[Fire],
    mut outputs: Outputs,
) -> StoreResult<(Vec<bool>, Option<DateTime<Utc>>)> {
    let mut won = Vec::with_capacity(fires.len());
    for _ in fires {
        won.push(outputs.next_changes()? == 1);
        outputs.next_changes()?;
    }
    Ok((won, read_next_tick(&mut outputs)?))
}
