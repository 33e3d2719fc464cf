//! Cron schedules: jobs enqueued at every tick of a cron expression.
//!
//! A schedule is declared by name ([`NewCronSchedule`]) and stored through
//! [`CronStore`](crate::store::CronStore). Every worker fires due schedules;
//! however many workers and processes share the database, each tick
//! enqueues exactly one job, because firing is a compare-and-set on the
//! schedule's `next_run_at` in the transaction that enqueues the job.
//!
//! Policies:
//! - **Missed ticks are coalesced.** When no worker ran for a while, the
//!   ticks missed meanwhile enqueue one job (for the first of them, so its
//!   `run_at` says how late it is), and the schedule moves on to its first
//!   tick after now. Nothing is replayed tick by tick.
//! - **Declaring again changes nothing** unless the expression or timezone
//!   changed; an operator's enable or disable survives restarts.
//! - **Enabling** waits for the next tick: ticks missed while disabled are
//!   not run.
//! - **Daylight saving**: a tick whose local time is skipped fires right
//!   after the change; a local time that occurs twice fires once.
//! - Every job a schedule enqueues has the correlation id `cron:NAME`
//!   ([`correlation_id`]), so its runs can be listed.

mod error;
mod expression;
pub(crate) mod rules;
mod schedule;

pub use error::CronError;
pub use expression::CronExpression;
pub use schedule::{correlation_id, CronFiring, CronSchedule, FiredTick, NewCronSchedule};
