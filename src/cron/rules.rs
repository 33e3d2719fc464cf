//! The schedule rules every backend applies, written once: what declaring,
//! enabling and firing a schedule make of it.

use chrono::{DateTime, Utc};

use super::{CronSchedule, FiredTick, NewCronSchedule};
use crate::error::StoreResult;
use crate::job::{prepare, PreparedJob};
use crate::time;

/// The schedule to store when `declared` is declared at `now`, over the
/// stored one with its name, if any.
///
/// Declaring again keeps the schedule's place in time: while the expression
/// and timezone are unchanged, `next_run_at` (and a due tick with it) stays,
/// so a restart neither skips nor repeats a tick. A changed expression or
/// timezone waits for its first tick after `now`. Whether the schedule is
/// enabled is an operator's decision and survives a declaration.
pub(crate) fn declare(
    declared: &NewCronSchedule,
    existing: Option<CronSchedule>,
    now: DateTime<Utc>,
) -> StoreResult<CronSchedule> {
    let expression = declared.validate()?;
    let now = time::truncate(now);
    let same_timing = existing.as_ref().is_some_and(|old| {
        old.cron_expression == expression.as_str() && old.timezone == declared.timezone.trim()
    });
    let next_run_at = match &existing {
        Some(old) if same_timing => old.next_run_at,
        old => {
            time::truncate(expression.next_after(now, old.as_ref().and_then(|o| o.last_run_at))?)
        }
    };
    Ok(CronSchedule {
        name: declared.name.clone(),
        job_type: declared.job_type.clone(),
        cron_expression: expression.as_str().to_string(),
        timezone: declared.timezone.trim().to_string(),
        params: declared.params.clone(),
        max_attempts: declared.max_attempts,
        enabled: existing.as_ref().is_none_or(|old| old.enabled),
        last_run_at: existing.as_ref().and_then(|old| old.last_run_at),
        next_run_at,
        last_job_id: existing.as_ref().and_then(|old| old.last_job_id),
        created_at: existing.as_ref().map_or(now, |old| old.created_at),
        updated_at: now,
    })
}

/// `schedule` enabled or disabled at `now`, or `None` when it already is.
///
/// An enabled schedule waits for its first tick after `now`: the ticks it
/// missed while disabled are not run.
pub(crate) fn set_enabled(
    schedule: &CronSchedule,
    enabled: bool,
    now: DateTime<Utc>,
) -> StoreResult<Option<CronSchedule>> {
    if schedule.enabled == enabled {
        return Ok(None);
    }
    let now = time::truncate(now);
    let mut changed = schedule.clone();
    changed.enabled = enabled;
    changed.updated_at = now;
    if enabled {
        let next = schedule
            .expression()?
            .next_after(now, schedule.last_run_at)?;
        changed.next_run_at = time::truncate(next);
    }
    Ok(Some(changed))
}

/// Firing a due schedule: the tick it fires, the job for it, and the next
/// tick to wait for.
pub(crate) struct Fire {
    /// The schedule's name.
    pub schedule: String,
    /// The tick fired: the stored `next_run_at`, which the write compares
    /// and sets, so only one firing of it succeeds.
    pub tick: DateTime<Utc>,
    /// The tick after `now` the schedule waits for next.
    pub next_run_at: DateTime<Utc>,
    /// The job to enqueue, claimable from `tick`.
    pub job: PreparedJob,
}

impl Fire {
    /// What a caller is told once this firing's write won.
    pub fn fired(&self) -> FiredTick {
        FiredTick {
            schedule: self.schedule.clone(),
            job_type: self.job.job.job_type.clone(),
            tick: self.tick,
            job_id: self.job.job.id,
        }
    }
}

/// What firing `schedule` (due: `next_run_at <= now`) at `now` writes.
///
/// Missed ticks are coalesced: however many ticks passed since
/// `next_run_at` (the workers were down), one job is enqueued, for the
/// first of them, and the schedule moves to its first tick after `now`.
pub(crate) fn fire(schedule: &CronSchedule, now: DateTime<Utc>) -> StoreResult<Fire> {
    let now = time::truncate(now);
    let tick = schedule.next_run_at;
    let next = schedule
        .expression()?
        .next_after(now.max(tick), Some(tick))?;
    let job = prepare(&schedule.declaration().job_at(tick), now, None)?;
    Ok(Fire {
        schedule: schedule.name.clone(),
        tick,
        next_run_at: time::truncate(next),
        job,
    })
}
