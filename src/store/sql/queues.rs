//! Queues: their stored settings, and their counts read from the jobs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::value::Value;
use super::Outputs;
use crate::error::StoreResult;
use crate::store::QueueInfo;
use crate::time;

/// The three statements that read every queue at `now`: the pending jobs
/// of each queue (read in order off the claim index), the running ones
/// (off the reaper index: few), and the stored settings.
fn list_statements(now: DateTime<Utc>) -> Vec<Statement> {
    vec![
        Statement::query(
            "SELECT queue, sum(run_at <= ?1), sum(run_at > ?1) FROM jobs \
             WHERE status = 'pending' GROUP BY queue",
            vec![Value::from(time::to_millis(now))],
        ),
        Statement::query(
            "SELECT queue, count(*) FROM jobs WHERE status = 'running' GROUP BY queue",
            Vec::new(),
        ),
        Statement::query(
            "SELECT name, paused, concurrency_limit FROM queues",
            Vec::new(),
        ),
    ]
}

/// Every queue, read at `now`.
pub(crate) fn list(now: DateTime<Utc>) -> Batch {
    Batch::read(list_statements(now))
}

/// The queues a [`list`] (or the end of a [`set_paused`] or [`set_limit`])
/// read, by name.
pub(crate) fn listed(outputs: &mut Outputs) -> StoreResult<Vec<QueueInfo>> {
    let mut queues: BTreeMap<String, QueueInfo> = BTreeMap::new();
    let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
    for row in outputs.next_rows()? {
        let name = row.text(0)?;
        queues.insert(
            name.clone(),
            QueueInfo {
                name,
                available: count(row.opt_int(1)?),
                scheduled: count(row.opt_int(2)?),
                ..QueueInfo::default()
            },
        );
    }
    for row in outputs.next_rows()? {
        let name = row.text(0)?;
        queues
            .entry(name.clone())
            .or_insert_with(|| QueueInfo {
                name,
                ..QueueInfo::default()
            })
            .running = count(row.opt_int(1)?);
    }
    for row in outputs.next_rows()? {
        let name = row.text(0)?;
        let queue = queues.entry(name.clone()).or_insert_with(|| QueueInfo {
            name,
            ..QueueInfo::default()
        });
        queue.paused = row.flag(1)?;
        queue.concurrency_limit = row
            .opt_int(2)?
            .map(|limit| u32::try_from(limit).unwrap_or(u32::MAX));
    }
    Ok(queues.into_values().collect())
}

/// Stores whether `queue` is paused, then reads every queue.
pub(crate) fn set_paused(queue: &str, paused: bool, now: DateTime<Utc>) -> Batch {
    let mut statements = vec![Statement::execute(
        "INSERT INTO queues (name, paused, concurrency_limit, updated_at) VALUES (?1, ?2, NULL, ?3) \
         ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at",
        vec![
            Value::from(queue),
            Value::from(paused),
            Value::from(time::to_millis(now)),
        ],
    )];
    statements.extend(list_statements(now));
    Batch::write(statements)
}

/// Stores `queue`'s concurrency limit, then reads every queue.
pub(crate) fn set_limit(queue: &str, limit: Option<u32>, now: DateTime<Utc>) -> Batch {
    let mut statements = vec![Statement::execute(
        "INSERT INTO queues (name, paused, concurrency_limit, updated_at) VALUES (?1, 0, ?2, ?3) \
         ON CONFLICT (name) DO UPDATE SET concurrency_limit = excluded.concurrency_limit, \
         updated_at = excluded.updated_at",
        vec![
            Value::from(queue),
            Value::from(limit),
            Value::from(time::to_millis(now)),
        ],
    )];
    statements.extend(list_statements(now));
    Batch::write(statements)
}

/// The queue named `queue` out of what a [`set_paused`] or [`set_limit`]
/// batch read.
pub(crate) fn changed(queue: &str, mut outputs: Outputs) -> StoreResult<QueueInfo> {
    outputs.next_changes()?;
    Ok(listed(&mut outputs)?
        .into_iter()
        .find(|q| q.name == queue)
        .unwrap_or_else(|| QueueInfo {
            name: queue.to_string(),
            ..QueueInfo::default()
        }))
}
