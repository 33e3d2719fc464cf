use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use jobstore::cron::{correlation_id, NewCronSchedule};
use jobstore::{JobStatus, ListQuery, StoreError};
use serde_json::json;

use crate::support::{start, Harness};

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, h, m, 0).unwrap()
}

fn every_five(name: &str) -> NewCronSchedule {
    NewCronSchedule::new(name, "report", "*/5 * * * *")
        .params(json!({ "format": "pdf" }))
        .max_attempts(3)
}

async fn runs(h: &Harness, name: &str) -> Vec<jobstore::Job> {
    h.store
        .list(&ListQuery::default().correlation_id(correlation_id(name)))
        .await
        .unwrap()
        .jobs
}

pub async fn declare_creates_a_schedule_waiting_for_its_first_tick(h: &Harness) {
    let declared = h.store.declare_schedule(&every_five("r")).await.unwrap();
    assert_eq!(declared.name, "r");
    assert_eq!(declared.job_type, "report");
    assert_eq!(declared.cron_expression, "*/5 * * * *");
    assert_eq!(declared.timezone, "UTC");
    assert_eq!(declared.params, json!({ "format": "pdf" }));
    assert_eq!(declared.max_attempts, 3);
    assert!(declared.enabled);
    assert_eq!(declared.next_run_at, at(12, 5), "the first tick after now");
    assert_eq!((declared.last_run_at, declared.last_job_id), (None, None));
    assert_eq!(
        (declared.created_at, declared.updated_at),
        (start(), start())
    );
    assert_eq!(h.store.get_schedule("r").await.unwrap(), declared);
    assert_eq!(h.store.list_schedules().await.unwrap(), vec![declared]);
}

pub async fn declaring_again_keeps_the_due_tick(h: &Harness) {
    h.store.declare_schedule(&every_five("r")).await.unwrap();
    h.advance(Duration::from_secs(6 * 60));
    // A restart declares the same schedule while its 12:05 tick is due.
    let again = h.store.declare_schedule(&every_five("r")).await.unwrap();
    assert_eq!(again.next_run_at, at(12, 5), "the due tick is kept");
    assert_eq!(again.created_at, start());
    // New params, same timing: the tick is still kept.
    let changed = every_five("r").params(json!({ "format": "csv" }));
    let again = h.store.declare_schedule(&changed).await.unwrap();
    assert_eq!(again.next_run_at, at(12, 5));
    let firing = h.store.fire_due_schedules().await.unwrap();
    assert_eq!(firing.fired.len(), 1);
    let job = h.store.get(firing.fired[0].job_id).await.unwrap();
    assert_eq!(job.params, json!({ "format": "csv" }));
    // A new expression waits for its own first tick after now (12:06).
    let hourly = NewCronSchedule::new("r", "report", "0 * * * *");
    let again = h.store.declare_schedule(&hourly).await.unwrap();
    assert_eq!(again.next_run_at, at(13, 0));
    assert_eq!(again.last_run_at, Some(at(12, 5)), "history is kept");
    assert_eq!(h.store.list_schedules().await.unwrap().len(), 1);
}

pub async fn declare_refuses_bad_input_and_stores_nothing(h: &Harness) {
    let refused = [
        (
            NewCronSchedule::new("r", "report", "61 * * * *"),
            "cron expression \"61 * * * *\" is not valid",
        ),
        (
            NewCronSchedule::new("r", "report", "every day"),
            "expected 5 fields",
        ),
        (
            NewCronSchedule::new("r", "report", "0 0 30 2 *"),
            "no upcoming time",
        ),
        (
            NewCronSchedule::new("r", "report", "0 9 * * *").timezone("Mars/Olympus"),
            "unknown timezone \"Mars/Olympus\"",
        ),
        (
            NewCronSchedule::new(" ", "report", "* * * * *"),
            "schedule name",
        ),
        (NewCronSchedule::new("r", "", "* * * * *"), "job type"),
        (
            NewCronSchedule::new("r", "report", "* * * * *").max_attempts(0),
            "max_attempts",
        ),
    ];
    for (schedule, expected) in refused {
        match h.store.declare_schedule(&schedule).await {
            Err(StoreError::InvalidInput(message)) => {
                assert!(message.contains(expected), "{message:?} lacks {expected:?}")
            }
            other => panic!("{schedule:?} was not refused: {other:?}"),
        }
    }
    assert!(h.store.list_schedules().await.unwrap().is_empty());

    // A bad update leaves the stored schedule as it was.
    let stored = h.store.declare_schedule(&every_five("r")).await.unwrap();
    let bad = NewCronSchedule::new("r", "report", "*/5 * * *");
    assert!(h.store.declare_schedule(&bad).await.is_err());
    assert_eq!(h.store.get_schedule("r").await.unwrap(), stored);
}

pub async fn fire_enqueues_one_job_per_due_tick(h: &Harness) {
    h.store.declare_schedule(&every_five("r")).await.unwrap();
    let firing = h.store.fire_due_schedules().await.unwrap();
    assert!(firing.fired.is_empty(), "nothing is due at 12:00");
    assert_eq!(firing.next_tick, Some(at(12, 5)));

    h.advance(Duration::from_secs(5 * 60));
    let firing = h.store.fire_due_schedules().await.unwrap();
    assert_eq!(firing.fired.len(), 1);
    let fired = &firing.fired[0];
    assert_eq!((fired.schedule.as_str(), fired.tick), ("r", at(12, 5)));
    assert_eq!(fired.job_type, "report");
    assert_eq!(firing.next_tick, Some(at(12, 10)));
    let job = h.store.get(fired.job_id).await.unwrap();
    assert_eq!(job.job_type, "report");
    assert_eq!(job.params, json!({ "format": "pdf" }));
    assert_eq!(job.max_attempts, 3);
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.run_at, at(12, 5));
    assert_eq!(job.correlation_id.as_deref(), Some("cron:r"));

    let schedule = h.store.get_schedule("r").await.unwrap();
    assert_eq!(schedule.last_run_at, Some(at(12, 5)));
    assert_eq!(schedule.last_job_id, Some(job.id));
    assert_eq!(schedule.next_run_at, at(12, 10));

    let again = h.store.fire_due_schedules().await.unwrap();
    assert!(again.fired.is_empty(), "a tick fires once");
    assert_eq!(runs(h, "r").await.len(), 1);
}

pub async fn missed_ticks_are_coalesced_into_one_run(h: &Harness) {
    h.store.declare_schedule(&every_five("r")).await.unwrap();
    // No worker ran for an hour: twelve ticks were missed.
    h.advance(Duration::from_secs(61 * 60));
    let firing = h.store.fire_due_schedules().await.unwrap();
    assert_eq!(firing.fired.len(), 1, "one run for all the missed ticks");
    assert_eq!(
        firing.fired[0].tick,
        at(12, 5),
        "dated at the first missed tick"
    );
    assert_eq!(
        firing.next_tick,
        Some(at(13, 5)),
        "then the next tick after now"
    );
    assert!(h.store.fire_due_schedules().await.unwrap().fired.is_empty());
    assert_eq!(runs(h, "r").await.len(), 1);

    h.advance(Duration::from_secs(4 * 60));
    assert_eq!(h.store.fire_due_schedules().await.unwrap().fired.len(), 1);
    assert_eq!(runs(h, "r").await.len(), 2);
}

pub async fn disabled_schedules_do_not_fire(h: &Harness) {
    h.store.declare_schedule(&every_five("r")).await.unwrap();
    let disabled = h.store.set_schedule_enabled("r", false).await.unwrap();
    assert!(!disabled.enabled);
    // Declaring again (a restart) keeps the operator's decision.
    assert!(
        !h.store
            .declare_schedule(&every_five("r"))
            .await
            .unwrap()
            .enabled
    );

    h.advance(Duration::from_secs(31 * 60));
    let firing = h.store.fire_due_schedules().await.unwrap();
    assert!(firing.fired.is_empty());
    assert_eq!(firing.next_tick, None, "no enabled schedule");

    // Enabling waits for the next tick: missed ones are not run.
    let enabled = h.store.set_schedule_enabled("r", true).await.unwrap();
    assert!(enabled.enabled);
    assert_eq!(enabled.next_run_at, at(12, 35));
    assert!(h.store.fire_due_schedules().await.unwrap().fired.is_empty());
    // Enabling an enabled schedule changes nothing.
    assert_eq!(
        h.store.set_schedule_enabled("r", true).await.unwrap(),
        enabled
    );
    h.advance(Duration::from_secs(4 * 60));
    assert_eq!(h.store.fire_due_schedules().await.unwrap().fired.len(), 1);
}

pub async fn delete_removes_the_schedule_and_keeps_its_jobs(h: &Harness) {
    h.store.declare_schedule(&every_five("r")).await.unwrap();
    h.advance(Duration::from_secs(5 * 60));
    assert_eq!(h.store.fire_due_schedules().await.unwrap().fired.len(), 1);
    h.store.delete_schedule("r").await.unwrap();
    assert!(h.store.list_schedules().await.unwrap().is_empty());
    assert_eq!(runs(h, "r").await.len(), 1, "its jobs stay");
    for missing in [
        h.store.get_schedule("r").await.err(),
        h.store.delete_schedule("r").await.err(),
        h.store.set_schedule_enabled("r", true).await.err(),
    ] {
        assert!(
            matches!(missing, Some(StoreError::ScheduleNotFound(ref name)) if name == "r"),
            "{missing:?}"
        );
    }
    h.advance(Duration::from_secs(5 * 60));
    assert!(h.store.fire_due_schedules().await.unwrap().fired.is_empty());
}

pub async fn concurrent_firing_enqueues_each_tick_once(h: &Harness) {
    let names: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
    for name in &names {
        h.store.declare_schedule(&every_five(name)).await.unwrap();
    }
    h.advance(Duration::from_secs(5 * 60));
    let firers: Vec<_> = (0..8)
        .map(|_| {
            let store = h.store.clone();
            tokio::spawn(async move { store.fire_due_schedules().await.unwrap() })
        })
        .collect();
    let mut fired = 0;
    for firer in firers {
        fired += firer.await.unwrap().fired.len();
    }
    assert_eq!(
        fired,
        names.len(),
        "each due tick fired by exactly one caller"
    );
    for name in &names {
        assert_eq!(runs(h, name).await.len(), 1, "{name}");
    }
}

pub async fn ticks_follow_the_schedule_timezone(h: &Harness) {
    let nine_in_new_york =
        NewCronSchedule::new("ny", "report", "0 9 * * *").timezone("America/New_York");
    let declared = h.store.declare_schedule(&nine_in_new_york).await.unwrap();
    assert_eq!(declared.timezone, "America/New_York");
    // 09:00 EST is 14:00 UTC.
    assert_eq!(declared.next_run_at, at(14, 0));
}

/// Walks the clock `hours` on from `from` in steps of `step_minutes`,
/// firing at each, and returns the ticks fired.
async fn fire_through(
    h: &Harness,
    from: DateTime<Utc>,
    hours: i64,
    step_minutes: i64,
) -> Vec<DateTime<Utc>> {
    let mut ticks = Vec::new();
    let mut now = from;
    while now < from + chrono::Duration::hours(hours) {
        now += chrono::Duration::minutes(step_minutes);
        h.clock.set(now);
        for fired in h.store.fire_due_schedules().await.unwrap().fired {
            ticks.push(fired.tick);
        }
    }
    ticks
}

pub async fn daylight_saving_changes_fire_each_local_time_once(h: &Harness) {
    // Fall back in New York: 2026-11-01 01:00-02:00 happens twice.
    let fall = Utc.with_ymd_and_hms(2026, 10, 31, 22, 0, 0).unwrap();
    h.clock.set(fall);
    let half_past_one =
        NewCronSchedule::new("fall", "report", "30 1 * * *").timezone("America/New_York");
    h.store.declare_schedule(&half_past_one).await.unwrap();
    // 40-minute steps: the 01:30 EDT tick is fired late, at 01:00 EST, in
    // the repeated hour, before 01:30 comes round again.
    let ticks = fire_through(h, fall, 24, 40).await;
    // 01:30 EDT (05:30 UTC), not again at 01:30 EST (06:30 UTC).
    assert_eq!(
        ticks,
        vec![Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap()]
    );
    h.store.delete_schedule("fall").await.unwrap();

    // Spring forward: 2026-03-08 02:00-03:00 does not exist.
    let spring = Utc.with_ymd_and_hms(2026, 3, 7, 22, 0, 0).unwrap();
    h.clock.set(spring);
    let half_past_two =
        NewCronSchedule::new("spring", "report", "30 2 * * *").timezone("America/New_York");
    h.store.declare_schedule(&half_past_two).await.unwrap();
    let ticks = fire_through(h, spring, 24, 10).await;
    // Fires right after the change, at 03:00 EDT (07:00 UTC).
    assert_eq!(
        ticks,
        vec![Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()]
    );
}

contract_tests!(
    declare_creates_a_schedule_waiting_for_its_first_tick,
    declaring_again_keeps_the_due_tick,
    declare_refuses_bad_input_and_stores_nothing,
    fire_enqueues_one_job_per_due_tick,
    missed_ticks_are_coalesced_into_one_run,
    disabled_schedules_do_not_fire,
    delete_removes_the_schedule_and_keeps_its_jobs,
    concurrent_firing_enqueues_each_tick_once,
    ticks_follow_the_schedule_timezone,
    daylight_saving_changes_fire_each_local_time_once,
);
