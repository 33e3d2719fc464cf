//! Activity over time, per queue, read from the jobs themselves: what the
//! dashboard's charts draw, the same for every process that asks.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::job::{Job, JobStatus};
use crate::time;

/// Consecutive spans of time of one length: the x axis of a chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivityWindow {
    /// The start of the first span.
    pub since: DateTime<Utc>,
    /// How long each span is (at least a second, whole milliseconds).
    pub bucket: Duration,
    /// How many spans (1 to [`ActivityWindow::MAX_BUCKETS`]).
    pub buckets: u32,
}

impl ActivityWindow {
    /// The most spans one report has.
    pub const MAX_BUCKETS: u32 = 1440;

    /// The last `buckets` spans of `bucket`, aligned to whole spans since
    /// the Unix epoch, the last one holding `now`: the last hour by minute
    /// is `ending_at(now, Duration::from_secs(60), 60)`.
    pub fn ending_at(now: DateTime<Utc>, bucket: Duration, buckets: u32) -> Self {
        let step = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX).max(1);
        let now = time::to_millis(now);
        let start_of_last = now - now.rem_euclid(step);
        let since =
            start_of_last.saturating_sub(step.saturating_mul(i64::from(buckets.max(1)) - 1));
        ActivityWindow {
            since: DateTime::from_timestamp_millis(since).unwrap_or(DateTime::UNIX_EPOCH),
            bucket,
            buckets,
        }
    }

    /// Refuses a window no report can be made for.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        if self.bucket < Duration::from_secs(1) {
            return Err(StoreError::InvalidInput(format!(
                "activity bucket is {:?}; it must be at least a second",
                self.bucket
            )));
        }
        if !(1..=Self::MAX_BUCKETS).contains(&self.buckets) {
            return Err(StoreError::InvalidInput(format!(
                "activity window has {} buckets; it must have 1 to {}",
                self.buckets,
                Self::MAX_BUCKETS
            )));
        }
        if self.until_millis().is_none() {
            return Err(StoreError::InvalidInput(
                "activity window ends beyond the representable time".into(),
            ));
        }
        Ok(())
    }

    /// The window's start, its span length and its end, in stored
    /// milliseconds (the window must be valid).
    pub(crate) fn millis(&self) -> (i64, i64, i64) {
        let since = time::to_millis(self.since);
        (since, self.step(), self.until_millis().unwrap_or(i64::MAX))
    }

    fn step(&self) -> i64 {
        i64::try_from(self.bucket.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    fn until_millis(&self) -> Option<i64> {
        time::to_millis(self.since).checked_add(self.step().checked_mul(i64::from(self.buckets))?)
    }

    /// The span an instant (stored milliseconds) falls in, as the SQL
    /// backends number them: -1 before the window, `buckets` or more after.
    pub(crate) fn index(&self, at: i64) -> i64 {
        let (since, step, _) = self.millis();
        if at < since {
            -1
        } else {
            (at - since) / step
        }
    }
}

/// One queue's activity, span by span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueActivity {
    /// The queue.
    pub queue: String,
    /// One entry per span of the window, oldest first.
    pub buckets: Vec<ActivityBucket>,
}

/// What happened in one queue during one span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityBucket {
    /// When the span starts.
    pub start: DateTime<Utc>,
    /// Jobs that completed in it.
    pub completed: u64,
    /// Jobs that failed for good in it (an attempt that is retried is not
    /// counted).
    pub failed: u64,
    /// Jobs that started in it (a job waiting again for a retry is
    /// counted again when it starts again).
    pub started: u64,
    /// Jobs due and waiting at the span's end (for the last span: up to
    /// now), as far as the jobs still on record tell.
    pub depth: u64,
    /// The median wait of the jobs that started in it, from when each was
    /// due (created, or its scheduled time) to its start, in milliseconds.
    pub wait_p50_ms: Option<u64>,
    /// The 95th percentile of those waits (nearest rank).
    pub wait_p95_ms: Option<u64>,
}

/// Counts gathered per queue and span, before they become a report.
#[derive(Default)]
pub(crate) struct Tally {
    queues: BTreeMap<String, Vec<Counts>>,
}

#[derive(Clone, Copy, Default)]
struct Counts {
    completed: u64,
    failed: u64,
    started: u64,
    depth: u64,
    p50: Option<u64>,
    p95: Option<u64>,
}

/// The rank (1-based, ascending) of the `percent` percentile among `total`
/// values, by nearest rank.
pub(crate) fn rank(percent: u64, total: u64) -> u64 {
    (total * percent).div_ceil(100).max(1)
}

impl Tally {
    fn slot(&mut self, window: &ActivityWindow, queue: &str, index: i64) -> Option<&mut Counts> {
        let index = usize::try_from(index).ok()?;
        if index >= window.buckets as usize {
            return None;
        }
        let spans = self
            .queues
            .entry(queue.to_string())
            .or_insert_with(|| vec![Counts::default(); window.buckets as usize]);
        spans.get_mut(index)
    }

    /// `count` jobs of `queue` ended in `status` in span `index`.
    pub(crate) fn finished(
        &mut self,
        window: &ActivityWindow,
        queue: &str,
        status: JobStatus,
        index: i64,
        count: u64,
    ) {
        if let Some(slot) = self.slot(window, queue, index) {
            match status {
                JobStatus::Completed => slot.completed += count,
                JobStatus::Failed => slot.failed += count,
                _ => {}
            }
        }
    }

    /// In span `index` of `queue`, `total` jobs started, and the wait at
    /// ascending rank `rank` was `wait_ms`.
    pub(crate) fn wait(
        &mut self,
        window: &ActivityWindow,
        queue: &str,
        index: i64,
        total: u64,
        rank_of_wait: u64,
        wait_ms: u64,
    ) {
        if let Some(slot) = self.slot(window, queue, index) {
            slot.started = total;
            if rank_of_wait == rank(50, total) {
                slot.p50 = Some(wait_ms);
            }
            if rank_of_wait == rank(95, total) {
                slot.p95 = Some(wait_ms);
            }
        }
    }

    /// `count` jobs of `queue` became due in span `due` (-1: before the
    /// window) and stopped waiting in span `left` (`None`: still waiting):
    /// they were waiting at the end of every span from `due` to `left`,
    /// `left` excluded.
    pub(crate) fn waiting(
        &mut self,
        window: &ActivityWindow,
        queue: &str,
        due: i64,
        left: Option<i64>,
        count: u64,
    ) {
        let first = due.max(0);
        let end = left.unwrap_or(i64::MAX).min(i64::from(window.buckets));
        for index in first..end {
            if let Some(slot) = self.slot(window, queue, index) {
                slot.depth += count;
            }
        }
    }

    /// The report: every queue that had anything in the window, by name.
    pub(crate) fn report(self, window: &ActivityWindow) -> Vec<QueueActivity> {
        self.queues
            .into_iter()
            .map(|(queue, spans)| QueueActivity {
                queue,
                buckets: spans
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| ActivityBucket {
                        start: window.since + window.bucket * u32::try_from(i).unwrap_or(u32::MAX),
                        completed: c.completed,
                        failed: c.failed,
                        started: c.started,
                        depth: c.depth,
                        wait_p50_ms: c.p50,
                        wait_p95_ms: c.p95,
                    })
                    .collect(),
            })
            .collect()
    }
}

/// The report for `window` computed from the jobs themselves (the memory
/// backend; the SQL backends ask the same in SQL).
pub(crate) fn from_jobs<'a>(
    window: &ActivityWindow,
    jobs: impl Iterator<Item = &'a Job>,
) -> Vec<QueueActivity> {
    let ms = time::to_millis;
    let (since, _, until) = window.millis();
    let mut tally = Tally::default();
    let mut waits: BTreeMap<(String, i64), Vec<u64>> = BTreeMap::new();
    for job in jobs {
        if let (Some(done), JobStatus::Completed | JobStatus::Failed) =
            (job.completed_at, job.status)
        {
            let done = ms(done);
            if (since..until).contains(&done) {
                tally.finished(window, &job.queue, job.status, window.index(done), 1);
            }
        }
        // A pending job's start is an earlier attempt's, since retried:
        // its wait is not known any more (its due time moved on).
        if let (Some(started), false) = (job.started_at.map(ms), job.status == JobStatus::Pending) {
            if (since..until).contains(&started) {
                let due = ms(job.created_at).max(ms(job.run_at));
                let wait = u64::try_from(started - due).unwrap_or(0);
                waits
                    .entry((job.queue.clone(), window.index(started)))
                    .or_default()
                    .push(wait);
            }
        }
        let due = ms(job.run_at);
        let left = match job.status {
            JobStatus::Pending => None,
            _ => job.started_at.or(job.completed_at).map(ms),
        };
        if due < until && left.is_none_or(|left| left >= since) {
            tally.waiting(
                window,
                &job.queue,
                window.index(due),
                left.map(|l| window.index(l)),
                1,
            );
        }
    }
    for ((queue, index), mut values) in waits {
        values.sort_unstable();
        let total = values.len() as u64;
        for percent in [50, 95] {
            let at = rank(percent, total);
            if let Some(&wait) = values.get(usize::try_from(at - 1).unwrap_or(0)) {
                tally.wait(window, &queue, index, total, at, wait);
            }
        }
    }
    tally.report(window)
}
