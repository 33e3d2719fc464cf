-- Every attempt of a job that did not complete it, kept with the job: who
-- ran it, when, how it ended and its full error. The attempt that
-- completes a job, and the one running now, are read from the job's own
-- row, so a job that succeeds writes nothing here: the history costs
-- nothing on the way every job takes.
-- * `outcome`: `retried` (a transient failure; the job runs again),
--   `failed` (its last attempt, or a permanent error), `cancelled`,
--   `lost` (its worker stopped heartbeating: `ended_by` names the worker
--   that rescued it, `finished_at` when), `released` (its worker shut down
--   and handed it back without spending an attempt).
-- Deleting a job deletes its attempts in the same statement's transaction.
CREATE TABLE job_attempts (
    job_id      TEXT    NOT NULL,
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    worker      TEXT,
    started_at  BIGINT,
    finished_at BIGINT  NOT NULL,
    outcome     TEXT    NOT NULL
                CHECK (outcome = 'retried' OR outcome = 'failed' OR outcome = 'cancelled'
                       OR outcome = 'lost' OR outcome = 'released'),
    error       TEXT,
    ended_by    TEXT,
    PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
