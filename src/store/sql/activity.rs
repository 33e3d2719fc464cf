//! Activity over time, per queue: three grouped reads of the jobs table.

use super::batch::{Batch, Statement};
use super::job_row::status_from_db;
use super::Outputs;
use crate::error::StoreResult;
use crate::store::activity::Tally;
use crate::store::{ActivityWindow, QueueActivity};

/// Jobs finished per queue, status and span; the waits at the median and
/// the 95th percentile rank per queue and span; and how many jobs were due
/// in which span and stopped waiting in which (the window must be valid).
/// Each reads the jobs table once; see [`crate::store::activity`] for what
/// is counted.
pub(crate) fn read(window: &ActivityWindow) -> Batch {
    let (since, step, until) = window.millis();
    let params = || vec![since.into(), step.into(), until.into()];
    Batch::read(vec![
        Statement::query(
            "SELECT CAST(queue AS BLOB), status, (completed_at - ?1) / ?2, count(*) FROM jobs \
             WHERE (status = 'completed' OR status = 'failed') \
             AND completed_at >= ?1 AND completed_at < ?3 \
             GROUP BY queue, status, 3",
            params(),
        ),
        Statement::query(
            "SELECT CAST(queue AS BLOB), b, total, n, w FROM (\
               SELECT queue, b, w, \
                 row_number() OVER (PARTITION BY queue, b ORDER BY w) AS n, \
                 count(*) OVER (PARTITION BY queue, b) AS total \
               FROM (SELECT queue, (started_at - ?1) / ?2 AS b, \
                       max(started_at - max(created_at, run_at), 0) AS w \
                     FROM jobs WHERE started_at >= ?1 AND started_at < ?3)) \
             WHERE n = (total * 50 + 99) / 100 OR n = (total * 95 + 99) / 100",
            params(),
        ),
        Statement::query(
            "SELECT CAST(queue AS BLOB), \
               CASE WHEN run_at < ?1 THEN -1 ELSE (run_at - ?1) / ?2 END AS due, \
               CASE WHEN l IS NULL THEN NULL ELSE (l - ?1) / ?2 END AS gone, count(*) \
             FROM (SELECT queue, run_at, CASE WHEN status = 'pending' THEN NULL \
                     ELSE coalesce(started_at, completed_at) END AS l FROM jobs) \
             WHERE run_at < ?3 AND (l IS NULL OR l >= ?1) \
             GROUP BY queue, due, gone",
            params(),
        ),
    ])
}

/// The report [`read`] read.
pub(crate) fn report(
    window: &ActivityWindow,
    mut outputs: Outputs,
) -> StoreResult<Vec<QueueActivity>> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut tally = Tally::default();
    for row in outputs.next_rows()? {
        let status = status_from_db(&row.text(1)?)?;
        tally.finished(
            window,
            &row.text(0)?,
            status,
            row.int(2)?,
            count(row.int(3)?),
        );
    }
    for row in outputs.next_rows()? {
        tally.wait(
            window,
            &row.text(0)?,
            row.int(1)?,
            count(row.int(2)?),
            count(row.int(3)?),
            count(row.int(4)?),
        );
    }
    for row in outputs.next_rows()? {
        tally.waiting(
            window,
            &row.text(0)?,
            row.int(1)?,
            row.opt_int(2)?,
            count(row.int(3)?),
        );
    }
    Ok(tally.report(window))
}
