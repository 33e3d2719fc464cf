//! The [`CronStore`] contract: storing and firing cron schedules.

use async_trait::async_trait;

use crate::cron::{CronFiring, CronSchedule, NewCronSchedule};
use crate::error::StoreResult;

/// Durable storage of cron schedules, part of every [`JobStore`](super::JobStore).
///
/// See [`crate::cron`] for the firing policies.
#[async_trait]
pub trait CronStore: Send + Sync {
    /// Creates the schedule, or updates the one with its name. Idempotent:
    /// declaring the same schedule again changes nothing but `updated_at`.
    /// An invalid expression, timezone, name or job is refused, storing
    /// nothing.
    async fn declare_schedule(&self, schedule: &NewCronSchedule) -> StoreResult<CronSchedule>;

    /// The schedule named `name`.
    async fn get_schedule(&self, name: &str) -> StoreResult<CronSchedule>;

    /// Every schedule, by name.
    async fn list_schedules(&self) -> StoreResult<Vec<CronSchedule>>;

    /// Enables or disables a schedule and returns it. Enabling waits for
    /// the next tick; enabling an enabled schedule (or disabling a disabled
    /// one) changes nothing.
    async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> StoreResult<CronSchedule>;

    /// Deletes a schedule; the jobs it enqueued stay.
    async fn delete_schedule(&self, name: &str) -> StoreResult<()>;

    /// Enqueues one job for every enabled schedule whose tick is due, and
    /// moves each to its next tick. A tick another caller fired first is
    /// left to it: each tick enqueues exactly one job.
    async fn fire_due_schedules(&self) -> StoreResult<CronFiring>;
}
