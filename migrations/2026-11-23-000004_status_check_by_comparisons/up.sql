-- The status CHECK as comparisons instead of an IN list.
--
-- SQLite evaluates `status IN (five constants)` by building a temporary
-- lookup table, and it evaluates the check on every row whose status a
-- statement sets: each claimed and each completed job paid for opening,
-- filling and closing one (about a tenth of a busy worker's transaction,
-- measured with callgrind). Five comparisons cost next to nothing and
-- accept exactly the same values.
--
-- A CHECK cannot be altered in place, so the table is rebuilt: a copy with
-- the new constraint, every row moved with its rowid, the old table
-- dropped, the copy renamed, the indexes created again. The table is
-- otherwise unchanged, column for column.

CREATE TABLE jobs_rebuilt (
    id               TEXT    PRIMARY KEY NOT NULL,
    job_type         TEXT    NOT NULL CHECK (length(job_type) BETWEEN 1 AND 200),
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status = 'pending' OR status = 'running' OR status = 'completed'
                            OR status = 'failed' OR status = 'cancelled'),
    -- NULL progress means the stage cannot measure progress: no fake percent.
    stage            TEXT,
    progress         REAL    CHECK (progress IS NULL OR (progress >= 0 AND progress <= 100)),
    params           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    result           TEXT    CHECK (result IS NULL OR json_valid(result)),
    error            TEXT,
    retry_count      INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 2 CHECK (max_attempts >= 1),
    attempt          INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    -- Not claimable before this instant; for an unscheduled job, its creation time.
    run_at           BIGINT  NOT NULL,
    locked_by        TEXT,
    lease_expires_at BIGINT,
    cancel_requested BOOLEAN NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
    -- The job this one retries (retries create a new job; none is retried in place).
    retry_of         TEXT,
    correlation_id   TEXT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    completed_at     BIGINT,
    -- A running job always holds a lease; no other job does.
    CHECK ((status = 'running') = (lease_expires_at IS NOT NULL))
);

INSERT INTO jobs_rebuilt (rowid, id, job_type, status, stage, progress, params, result, error, retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at, cancel_requested, retry_of, correlation_id, created_at, updated_at, started_at, completed_at)
    SELECT rowid, id, job_type, status, stage, progress, params, result, error, retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at, cancel_requested, retry_of, correlation_id, created_at, updated_at, started_at, completed_at FROM jobs;

DROP TABLE jobs;
ALTER TABLE jobs_rebuilt RENAME TO jobs;

-- The indexes as migrations 1 and 3 left them.
CREATE INDEX jobs_claim_idx ON jobs (status, run_at, id) WHERE status = 'pending';
CREATE INDEX jobs_reaper_idx ON jobs (status, lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_list_idx ON jobs (status, id);
CREATE INDEX jobs_type_idx ON jobs (job_type, status, id);
CREATE INDEX jobs_correlation_idx ON jobs (correlation_id, id);
