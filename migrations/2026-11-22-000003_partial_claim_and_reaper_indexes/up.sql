-- The claim and reaper indexes hold only the rows they are searched for.
--
-- Each index that leads with `status` holds every job, so every change of
-- status deletes an entry and inserts another in each of them, and the
-- finished jobs (most of the table, for good) stay in both. As partial
-- indexes, the claim index holds pending jobs only and the reaper index
-- running jobs only: a claim removes one entry from the first and adds one
-- to the second, a completion removes one from the second, and a finished
-- job costs neither anything.
--
-- A statement uses a partial index only when its WHERE clause repeats the
-- index's condition as written, so the queries that need them say
-- `status = 'pending'` / `status = 'running'` literally, not as a bound
-- parameter. The keys still begin with `status`: without statistics the
-- planner ranks indexes by the columns a statement constrains, and would
-- otherwise prefer `jobs_list_idx (status, id)` and sort.

DROP INDEX jobs_claim_idx;
-- FIFO claim: `WHERE status = 'pending' AND run_at <= ? ORDER BY run_at, id LIMIT n`
-- (also the queue position count, which walks the same order).
CREATE INDEX jobs_claim_idx ON jobs (status, run_at, id) WHERE status = 'pending';

DROP INDEX jobs_reaper_idx;
-- Reaper: `WHERE status = 'running' AND lease_expires_at < ?`.
CREATE INDEX jobs_reaper_idx ON jobs (status, lease_expires_at) WHERE status = 'running';
