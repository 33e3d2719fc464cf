DROP INDEX jobs_reaper_idx;
CREATE INDEX jobs_reaper_idx ON jobs (status, lease_expires_at);

DROP INDEX jobs_claim_idx;
CREATE INDEX jobs_claim_idx ON jobs (status, run_at, id);
