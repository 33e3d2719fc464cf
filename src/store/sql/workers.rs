//! The workers' own rows: announcements, retirement, the list.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::batch::{Batch, Statement};
use super::value::Value;
use super::Outputs;
use crate::error::{StoreError, StoreResult};
use crate::store::workers::KEEP_GONE;
use crate::store::{WorkerInfo, WorkerRecord};
use crate::time;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Upserts `info` as seen at `now` (a worker that had stopped or was gone
/// starts anew), and deletes the rows of workers gone for a day.
pub(crate) fn announce(info: &WorkerInfo, now: DateTime<Utc>) -> StoreResult<Batch> {
    let queues = serde_json::to_string(&info.queues)
        .map_err(|e| StoreError::InvalidInput(format!("worker queues: {e}")))?;
    let now = time::to_millis(now);
    Ok(Batch::write(vec![
        Statement::execute(
            "INSERT INTO workers (id, host, pid, queues, version, lease_ms, started_at, \
             last_seen_at, stopped_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, NULL) \
             ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
             queues = excluded.queues, version = excluded.version, lease_ms = excluded.lease_ms, \
             started_at = CASE WHEN workers.stopped_at IS NOT NULL \
             OR workers.last_seen_at + workers.lease_ms < excluded.last_seen_at \
             OR workers.pid <> excluded.pid OR workers.host <> excluded.host \
             THEN excluded.started_at ELSE workers.started_at END, \
             last_seen_at = excluded.last_seen_at, stopped_at = NULL",
            vec![
                info.id.as_str().into(),
                info.host.as_str().into(),
                Value::from(i64::from(info.pid)),
                queues.into(),
                info.version.as_str().into(),
                millis(info.lease).into(),
                now.into(),
            ],
        ),
        Statement::execute(
            "DELETE FROM workers WHERE last_seen_at + lease_ms < ?1",
            vec![(now - millis(KEEP_GONE)).into()],
        ),
    ]))
}

/// Marks the worker `id` stopped at `now`.
pub(crate) fn retire(id: &str, now: DateTime<Utc>) -> Batch {
    Batch::write(vec![Statement::execute(
        "UPDATE workers SET stopped_at = ?2, last_seen_at = ?2 WHERE id = ?1",
        vec![id.into(), time::to_millis(now).into()],
    )])
}

/// Every worker seen within its lease and a day of `now`, newest first,
/// with the jobs each holds (counted on the
/// running jobs' index). Text is read as bytes, so that an id holding a
/// NUL reads back whole.
pub(crate) fn list(now: DateTime<Utc>) -> Batch {
    Batch::read(vec![Statement::query(
        "SELECT CAST(id AS BLOB), CAST(host AS BLOB), pid, CAST(queues AS BLOB), \
         CAST(version AS BLOB), lease_ms, started_at, last_seen_at, stopped_at, \
         (SELECT count(*) FROM jobs WHERE status = 'running' AND locked_by = workers.id) \
         FROM workers WHERE last_seen_at + lease_ms >= ?1 ORDER BY started_at DESC, id",
        vec![(time::to_millis(now) - millis(KEEP_GONE)).into()],
    )])
}

/// What [`list`] read, judged alive or gone at `now`.
pub(crate) fn listed(mut outputs: Outputs, now: DateTime<Utc>) -> StoreResult<Vec<WorkerRecord>> {
    outputs
        .next_rows()?
        .iter()
        .map(|row| {
            let queues = serde_json::from_str(&row.text(3)?)
                .map_err(|e| StoreError::Corrupt(format!("worker queues: {e}")))?;
            let lease_ms = row.int(5)?;
            let last_seen_at = time::from_millis(row.int(7)?)?;
            let stopped_at = row.opt_int(8)?.map(time::from_millis).transpose()?;
            let alive = stopped_at.is_none()
                && time::to_millis(last_seen_at).saturating_add(lease_ms) >= time::to_millis(now);
            Ok(WorkerRecord {
                info: WorkerInfo {
                    id: row.text(0)?,
                    host: row.text(1)?,
                    pid: u32::try_from(row.int(2)?).unwrap_or(0),
                    queues,
                    version: row.text(4)?,
                    lease: Duration::from_millis(u64::try_from(lease_ms).unwrap_or(0)),
                },
                started_at: time::from_millis(row.int(6)?)?,
                last_seen_at,
                stopped_at,
                alive,
                running: u64::try_from(row.int(9)?).unwrap_or(0),
            })
        })
        .collect()
}
