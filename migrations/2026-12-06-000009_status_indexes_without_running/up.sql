-- The status-led listing and counting indexes leave running jobs out.
--
-- `jobs_list_idx (status, id)` and `jobs_type_idx (job_type, status, id)`
-- held every job, so each claim moved a job's entry in both from the
-- pending to the running range and each completion moved it again: four
-- entries deleted and four inserted per job, two more pages of each index
-- written into the log by every transaction of a busy worker. Running jobs
-- are few (no more than the workers' concurrency), are kept apart by the
-- reaper index already, and are listed and counted from it. Now a claim
-- only removes a job's pending entries and a completion adds its finished
-- ones.
--
-- A statement uses these indexes only when its WHERE clause names one of
-- the four statuses literally (`status = 'failed'`) or repeats the whole
-- condition below, as the listing and counting queries do. What filters by
-- type alone (listing every job of a type, a bulk action or a prune by
-- type) reads `jobs_job_type_idx (job_type, id)`, which holds every job
-- and changes only when a job is created or deleted.
--
-- The correlation index holds only the jobs that have a correlation id (a
-- cron schedule's, a batch's): every lookup names one (`correlation_id =
-- ?`, which SQLite matches to `IS NOT NULL`), and the others cost an
-- enqueue nothing there, which pays for the type index above.

DROP INDEX jobs_list_idx;
CREATE INDEX jobs_list_idx ON jobs (status, id)
    WHERE status = 'pending' OR status = 'completed' OR status = 'failed' OR status = 'cancelled';

DROP INDEX jobs_type_idx;
CREATE INDEX jobs_type_idx ON jobs (job_type, status, id)
    WHERE status = 'pending' OR status = 'completed' OR status = 'failed' OR status = 'cancelled';

CREATE INDEX jobs_job_type_idx ON jobs (job_type, id);

DROP INDEX jobs_correlation_idx;
CREATE INDEX jobs_correlation_idx ON jobs (correlation_id, id) WHERE correlation_id IS NOT NULL;
