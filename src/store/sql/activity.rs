//! Activity over time, per queue: one read of the jobs table.

use super::batch::{Batch, Statement};
use super::job_row::status_from_db;
use super::Outputs;
use crate::error::StoreResult;
use crate::store::activity::Tally;
use crate::store::{ActivityWindow, QueueActivity};

/// In one statement (one scan of the jobs table, into the jobs that did
/// anything in the window or wait now): jobs finished per queue, status
/// and span (rows of kind 0); the waits at the median and the 95th
/// percentile rank per queue and span (kind 1); and how many jobs were due
/// in which span and stopped waiting in which (kind 2). The window must be
/// valid; see [`crate::store::activity`] for what is counted.
pub(crate) fn read(window: &ActivityWindow) -> Batch {
    let (since, step, until) = window.millis();
    Batch::read(vec![Statement::query(
        "WITH j AS MATERIALIZED (\
           SELECT queue, status, run_at, created_at, started_at, completed_at, \
             CASE WHEN status = 'pending' THEN NULL \
               ELSE coalesce(started_at, completed_at) END AS l \
           FROM jobs \
           WHERE (+status = 'pending' AND run_at < ?3) OR started_at >= ?1 OR completed_at >= ?1) \
         SELECT 0, CAST(queue AS BLOB), status, (completed_at - ?1) / ?2, count(*), NULL FROM j \
           WHERE (status = 'completed' OR status = 'failed') \
             AND completed_at >= ?1 AND completed_at < ?3 \
           GROUP BY queue, status, 4 \
         UNION ALL \
         SELECT 1, CAST(queue AS BLOB), b, total, n, w FROM (\
           SELECT queue, b, w, \
             row_number() OVER (PARTITION BY queue, b ORDER BY w) AS n, \
             count(*) OVER (PARTITION BY queue, b) AS total \
           FROM (SELECT queue, (started_at - ?1) / ?2 AS b, \
                   max(started_at - max(created_at, run_at), 0) AS w \
                 FROM j WHERE started_at >= ?1 AND started_at < ?3 AND status <> 'pending')) \
           WHERE n = (total * 50 + 99) / 100 OR n = (total * 95 + 99) / 100 \
         UNION ALL \
         SELECT 2, CAST(queue AS BLOB), due, gone, count(*), NULL FROM (\
           SELECT queue, CASE WHEN run_at < ?1 THEN -1 ELSE (run_at - ?1) / ?2 END AS due, \
             CASE WHEN l IS NULL THEN NULL ELSE (l - ?1) / ?2 END AS gone \
           FROM j WHERE run_at < ?3 AND (l IS NULL OR l >= ?1)) \
           GROUP BY queue, due, gone",
        vec![since.into(), step.into(), until.into()],
    )])
}

/// The report [`read`] read.
pub(crate) fn report(
    window: &ActivityWindow,
    mut outputs: Outputs,
) -> StoreResult<Vec<QueueActivity>> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut tally = Tally::default();
    for row in outputs.next_rows()? {
        let queue = row.text(1)?;
        match row.int(0)? {
            0 => {
                let status = status_from_db(&row.text(2)?)?;
                tally.finished(window, &queue, status, row.int(3)?, count(row.int(4)?));
            }
            1 => tally.wait(
                window,
                &queue,
                row.int(2)?,
                count(row.int(3)?),
                count(row.int(4)?),
                count(row.int(5)?),
            ),
            _ => tally.waiting(
                window,
                &queue,
                row.int(2)?,
                row.opt_int(3)?,
                count(row.int(4)?),
            ),
        }
    }
    Ok(tally.report(window))
}
