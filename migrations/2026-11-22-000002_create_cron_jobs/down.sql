DROP INDEX cron_jobs_due_idx;
DROP TABLE cron_jobs;
