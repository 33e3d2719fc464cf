-- The jobs table: one row per job, from enqueue to its final state.
--
-- Conventions:
-- * `id` is a UUIDv7 in its 36-character lowercase text form, so ids sort by
--   creation time; ties inside one millisecond keep creation order.
-- * Timestamps are BIGINT milliseconds since the Unix epoch (UTC).
-- * `attempt` counts claims and is the fencing token of the current lease:
--   every write by a worker names it, so a worker whose lease was rescued and
--   re-claimed can never overwrite the newer attempt.
-- * `retry_count` counts attempts that failed and were retried; an attempt
--   returned on graceful shutdown is not counted.
CREATE TABLE jobs (
    id               TEXT    PRIMARY KEY NOT NULL,
    job_type         TEXT    NOT NULL CHECK (length(job_type) BETWEEN 1 AND 200),
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
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

-- FIFO claim: `WHERE status = 'pending' AND run_at <= ? ORDER BY run_at, id LIMIT ?`
-- (also the queue position count, which walks the same order).
CREATE INDEX jobs_claim_idx ON jobs (status, run_at, id);

-- Reaper: `WHERE status = 'running' AND lease_expires_at < ?`.
CREATE INDEX jobs_reaper_idx ON jobs (status, lease_expires_at);

-- Listing newest first, filtered by status: `WHERE status = ? [AND id < ?] ORDER BY id DESC`.
-- (Unfiltered listing walks the primary key.)
CREATE INDEX jobs_list_idx ON jobs (status, id);
