DROP INDEX jobs_list_idx;
DROP INDEX jobs_reaper_idx;
DROP INDEX jobs_claim_idx;
DROP TABLE jobs;
