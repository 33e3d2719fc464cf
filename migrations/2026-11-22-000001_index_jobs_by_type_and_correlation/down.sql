DROP INDEX jobs_correlation_idx;
DROP INDEX jobs_type_idx;
