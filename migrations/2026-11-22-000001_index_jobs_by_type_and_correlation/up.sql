-- Counting jobs by type and status (`GROUP BY job_type, status`, the
-- dashboard's and /metrics' exact counts) reads this index alone instead of
-- every row; listing by type and status walks it newest first.
CREATE INDEX jobs_type_idx ON jobs (job_type, status, id);

-- Listing the runs of one correlation id (a cron schedule's jobs, a batch),
-- newest first: `WHERE correlation_id = ? [AND id < ?] ORDER BY id DESC`.
CREATE INDEX jobs_correlation_idx ON jobs (correlation_id, id);
