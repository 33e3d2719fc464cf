DROP INDEX jobs_retry_of_idx;
