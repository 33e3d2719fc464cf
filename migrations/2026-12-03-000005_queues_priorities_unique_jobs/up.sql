-- Named queues, priorities, unique jobs, and the queues' own settings
-- (pause, a global concurrency limit). Additive: every existing job lands
-- in the `default` queue at the default priority, with no unique key.

-- The queue a job waits in; workers serve queues, each with its own
-- concurrency.
ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default'
    CHECK (length(queue) BETWEEN 1 AND 100);
-- 0 is claimed first, 9 last; within a priority, `run_at` then id.
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 5
    CHECK (priority >= 0 AND priority <= 9);
-- A job enqueued with a unique key holds it while the key's scope lasts:
-- `pending` (until it is claimed), `active` (until it finishes) or `period`
-- (until `unique_for_ms` after it finished). Another enqueue with the same
-- key inside that scope returns this job. The unique index below makes
-- this exact under concurrent enqueuers: an enqueue first takes the key
-- off a holder whose scope is over (in its own transaction), then inserts
-- with `ON CONFLICT DO NOTHING`.
ALTER TABLE jobs ADD COLUMN unique_key TEXT
    CHECK (unique_key IS NULL OR length(unique_key) BETWEEN 1 AND 200);
ALTER TABLE jobs ADD COLUMN unique_scope TEXT
    CHECK (unique_scope IS NULL OR unique_scope = 'pending' OR unique_scope = 'active'
           OR unique_scope = 'period');
ALTER TABLE jobs ADD COLUMN unique_for_ms BIGINT
    CHECK (unique_for_ms IS NULL OR unique_for_ms >= 0);

CREATE UNIQUE INDEX jobs_unique_idx ON jobs (unique_key) WHERE unique_key IS NOT NULL;

-- The claim within a queue: `WHERE status = 'pending' AND queue = ? AND
-- run_at <= ? ORDER BY priority, run_at, id LIMIT n` walks this index in
-- order (the queue position counts on it too).
DROP INDEX jobs_claim_idx;
CREATE INDEX jobs_claim_idx ON jobs (status, queue, priority, run_at, id)
    WHERE status = 'pending';

-- A queue's settings, stored so that every worker on every machine obeys
-- them. A queue without a row has the defaults (not paused, no limit).
-- * `paused`: no worker claims from the queue; running jobs finish.
-- * `concurrency_limit`: at most this many running jobs of the queue
--   across all workers; the claim counts them in its own statement.
CREATE TABLE queues (
    name              TEXT    PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    paused            BOOLEAN NOT NULL DEFAULT 0 CHECK (paused = 0 OR paused = 1),
    concurrency_limit INTEGER CHECK (concurrency_limit IS NULL OR concurrency_limit >= 0),
    updated_at        BIGINT  NOT NULL
);
