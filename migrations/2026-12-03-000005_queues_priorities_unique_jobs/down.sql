-- Back to one FIFO of every job.
DROP TABLE queues;
DROP INDEX jobs_claim_idx;
CREATE INDEX jobs_claim_idx ON jobs (status, run_at, id) WHERE status = 'pending';
DROP INDEX jobs_unique_idx;
ALTER TABLE jobs DROP COLUMN unique_for_ms;
ALTER TABLE jobs DROP COLUMN unique_scope;
ALTER TABLE jobs DROP COLUMN unique_key;
ALTER TABLE jobs DROP COLUMN priority;
ALTER TABLE jobs DROP COLUMN queue;
