-- Cron schedules: each row enqueues a job of `job_type` with `params` at
-- every tick of `cron_expression`, read in `timezone`.
--
-- Conventions (as in `jobs`): timestamps are BIGINT milliseconds since the
-- Unix epoch (UTC); params are JSON text.
-- * `next_run_at` is the tick the schedule waits for. Firing it is one
--   compare-and-set on this column (`UPDATE ... WHERE name = ? AND
--   next_run_at = <the tick read>`) in the transaction that enqueues the job,
--   so however many workers race for a tick, one enqueues it.
-- * `last_run_at` is the tick last fired; `last_job_id` the job it enqueued.
CREATE TABLE cron_jobs (
    name            TEXT    PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    job_type        TEXT    NOT NULL CHECK (length(job_type) BETWEEN 1 AND 200),
    cron_expression TEXT    NOT NULL CHECK (length(cron_expression) BETWEEN 1 AND 200),
    -- An IANA timezone name.
    timezone        TEXT    NOT NULL DEFAULT 'UTC',
    params          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    -- For each enqueued job.
    max_attempts    INTEGER NOT NULL DEFAULT 2 CHECK (max_attempts >= 1),
    enabled         BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    last_run_at     BIGINT,
    next_run_at     BIGINT  NOT NULL,
    last_job_id     TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- Due schedules: `WHERE enabled = 1 AND next_run_at <= ?`, and the earliest
-- upcoming tick (`ORDER BY next_run_at LIMIT 1`).
CREATE INDEX cron_jobs_due_idx ON cron_jobs (enabled, next_run_at);
