-- Which jobs retry a job: a bulk retry skips a failed job that already has
-- a retry (`NOT EXISTS (... WHERE retry_of = ?)`), so running it twice
-- retries each job once. Partial: only retries are in it.
CREATE INDEX jobs_retry_of_idx ON jobs (retry_of) WHERE retry_of IS NOT NULL;
