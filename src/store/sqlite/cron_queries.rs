//! The statements of cron schedules on the Diesel backend. Callers wrap
//! writes in `BEGIN IMMEDIATE` transactions.

use chrono::{DateTime, Utc};
use diesel::dsl::min;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::cron_row::CronRow;
use super::queries;
use crate::cron::rules::Fire;
use crate::cron::CronSchedule;
use crate::error::{StoreError, StoreResult};
use crate::schema::cron_jobs;
use crate::time;

/// The schedule named `name`, if any.
pub(crate) fn find(conn: &mut SqliteConnection, name: &str) -> StoreResult<Option<CronSchedule>> {
    cron_jobs::table
        .find(name)
        .select(CronRow::as_select())
        .first(conn)
        .optional()?
        .map(CronSchedule::try_from)
        .transpose()
}

/// The schedule named `name`, or [`StoreError::ScheduleNotFound`].
pub(crate) fn get(conn: &mut SqliteConnection, name: &str) -> StoreResult<CronSchedule> {
    find(conn, name)?.ok_or_else(|| StoreError::ScheduleNotFound(name.to_string()))
}

/// Every schedule, by name.
pub(crate) fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<CronSchedule>> {
    cron_jobs::table
        .select(CronRow::as_select())
        .order(cron_jobs::name)
        .load(conn)?
        .into_iter()
        .map(CronSchedule::try_from)
        .collect()
}

/// Inserts `schedule`, or overwrites the row with its name.
pub(crate) fn save(conn: &mut SqliteConnection, schedule: &CronSchedule) -> StoreResult<()> {
    let row = CronRow::try_from(schedule)?;
    diesel::insert_into(cron_jobs::table)
        .values(&row)
        .on_conflict(cron_jobs::name)
        .do_update()
        .set(&row)
        .execute(conn)?;
    Ok(())
}

/// Deletes the schedule named `name`.
pub(crate) fn delete(conn: &mut SqliteConnection, name: &str) -> StoreResult<()> {
    let deleted = diesel::delete(cron_jobs::table.find(name)).execute(conn)?;
    if deleted == 0 {
        return Err(StoreError::ScheduleNotFound(name.to_string()));
    }
    Ok(())
}

/// Enabled schedules whose tick is due at `now`, earliest first.
pub(crate) fn due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> StoreResult<Vec<CronSchedule>> {
    cron_jobs::table
        .filter(cron_jobs::enabled.eq(true))
        .filter(cron_jobs::next_run_at.le(time::to_millis(now)))
        .order(cron_jobs::next_run_at)
        .select(CronRow::as_select())
        .load(conn)?
        .into_iter()
        .map(CronSchedule::try_from)
        .collect()
}

/// The earliest tick of any enabled schedule.
pub(crate) fn next_tick(conn: &mut SqliteConnection) -> StoreResult<Option<DateTime<Utc>>> {
    cron_jobs::table
        .filter(cron_jobs::enabled.eq(true))
        .select(min(cron_jobs::next_run_at))
        .first::<Option<i64>>(conn)?
        .map(time::from_millis)
        .transpose()
}

/// Fires one tick of `fire.schedule`: moves `next_run_at` from the tick
/// to the next one (compare-and-set) and, only when that write won,
/// enqueues the job. Returns whether this call fired the tick.
pub(crate) fn fire(
    conn: &mut SqliteConnection,
    fire: &Fire,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let tick = time::to_millis(fire.tick);
    let won = diesel::update(
        cron_jobs::table
            .find(&fire.schedule)
            .filter(cron_jobs::enabled.eq(true))
            .filter(cron_jobs::next_run_at.eq(tick)),
    )
    .set((
        cron_jobs::next_run_at.eq(time::to_millis(fire.next_run_at)),
        cron_jobs::last_run_at.eq(tick),
        cron_jobs::last_job_id.eq(fire.job.job.id.to_string()),
        cron_jobs::updated_at.eq(time::to_millis(now)),
    ))
    .execute(conn)?;
    if won == 1 {
        queries::insert(conn, std::slice::from_ref(&fire.job))?;
    }
    Ok(won == 1)
}
