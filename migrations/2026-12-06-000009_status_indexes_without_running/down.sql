DROP INDEX jobs_job_type_idx;

DROP INDEX jobs_list_idx;
CREATE INDEX jobs_list_idx ON jobs (status, id);

DROP INDEX jobs_type_idx;
CREATE INDEX jobs_type_idx ON jobs (job_type, status, id);

DROP INDEX jobs_correlation_idx;
CREATE INDEX jobs_correlation_idx ON jobs (correlation_id, id);
