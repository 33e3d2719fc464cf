//! Running one job inline: `Client::now`.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::Client;
use crate::job::{Job, JobId, JobStatus, NewJob};
use crate::worker::attempt::completer::Completer;
use crate::worker::attempt::outcome::record;
use crate::worker::attempt::supervise;
use crate::worker::{AttemptOutcome, JobContext, JobError, JobType, WorkerError};

/// How an inline run is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Record the run as a job (default), visible to pollers, cancellable
    /// from anywhere, with its progress, result or error stored. When
    /// `false`, nothing is written: progress reports are checked and
    /// dropped.
    pub persist: bool,
    /// Attempts the persisted job gets (default 1: the caller sees the
    /// error and decides). With more, a transient failure leaves the job
    /// pending for a worker to retry in the background.
    pub max_attempts: u32,
    /// A correlation id for the persisted job.
    pub correlation_id: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            persist: true,
            max_attempts: 1,
            correlation_id: None,
        }
    }
}

impl RunOptions {
    /// Whether to record the run as a job.
    pub fn persist(mut self, persist: bool) -> Self {
        self.persist = persist;
        self
    }

    /// Attempts the persisted job gets.
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// A correlation id for the persisted job.
    pub fn correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }

    fn new_job<J: JobType>(&self, params: &J::Params) -> Result<NewJob, WorkerError> {
        let mut job = J::job(params)?.max_attempts(self.max_attempts);
        if let Some(id) = &self.correlation_id {
            job = job.correlation_id(id.clone());
        }
        Ok(job)
    }
}

/// What an inline run did.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRun<T> {
    /// The job's id (also given to an unpersisted run, for its logs).
    pub job_id: JobId,
    /// Whether the run was recorded as a job.
    pub persisted: bool,
    /// How the attempt ended (for an unpersisted run: completed or failed).
    pub outcome: AttemptOutcome,
    /// The handler's output, or why there is none.
    pub result: Result<T, JobError>,
    /// How long the run took.
    pub duration: Duration,
}

impl Client {
    /// Runs a job of type `J` here and now, recorded as a job, and returns
    /// its output: see [`Client::now_with`].
    pub async fn now<J: JobType>(
        &self,
        job: &J,
        params: J::Params,
    ) -> Result<JobRun<J::Output>, WorkerError> {
        self.now_with(job, params, &RunOptions::default()).await
    }

    /// Runs a job of type `J` in this task, with the same supervision a
    /// worker gives it: heartbeats (so a cancellation from anywhere stops
    /// it), the type's timeout, and its child processes stopped and
    /// confirmed dead before this returns.
    ///
    /// A persisted run is created and claimed at once (it skips the queue),
    /// and its outcome is stored as a worker would store it. A handler
    /// error is reported in [`JobRun::result`]; `Err` is returned only when
    /// the job cannot be created or claimed. If the calling task is dropped
    /// mid-run, the job's children are killed and the job is rescued when
    /// its lease expires.
    pub async fn now_with<J: JobType>(
        &self,
        job: &J,
        params: J::Params,
        options: &RunOptions,
    ) -> Result<JobRun<J::Output>, WorkerError> {
        let started = Instant::now();
        let new_job = options.new_job::<J>(&params)?;
        let ctx = if options.persist {
            let created = self.store.create(new_job).await?;
            let claimed = self
                .store
                .claim_job(
                    created.id,
                    &self.config.worker_id,
                    self.config.lease_duration,
                )
                .await?;
            JobContext::new(
                Arc::clone(&self.store),
                claimed.job,
                Some(claimed.lease),
                J::STAGES,
                self.config.exec_allow.clone(),
            )
        } else {
            let job = unpersisted(&new_job)?;
            JobContext::new(
                Arc::clone(&self.store),
                job,
                None,
                J::STAGES,
                self.config.exec_allow.clone(),
            )
        };
        let record_ = ctx.job();
        let span = info_span!(
            "job",
            job.id = %record_.id,
            job.job_type = %record_.job_type,
            job.attempt = ctx.attempt(),
            inline = true
        );
        self.supervise_inline(job, params, ctx, started)
            .instrument(span)
            .await
    }

    async fn supervise_inline<J: JobType>(
        &self,
        job: &J,
        params: J::Params,
        ctx: JobContext,
        started: Instant,
    ) -> Result<JobRun<J::Output>, WorkerError> {
        let (job_id, lease) = (ctx.job().id, ctx.lease());
        let never = CancellationToken::new();
        let ended = supervise(
            ctx,
            &self.config,
            &self.keeper,
            (std::time::Instant::now(), job.timeout()),
            &never,
            |ctx| async move { job.run(params, &ctx).await },
        )
        .await;
        let mut output = None;
        let ended = ended.map_output(|out| {
            let value = serde_json::to_value(&out)
                .map_err(|e| JobError::permanent(format!("output cannot be serialized: {e}")))?;
            output = Some(out);
            Ok(value)
        });
        let error = ended.error();
        let outcome = match lease {
            Some(lease) => {
                let completer = Completer::Direct(Arc::clone(&self.store));
                record(&*self.store, &completer, &lease, &self.config, 1, ended).await
            }
            None if error.is_none() => AttemptOutcome::Completed,
            None => AttemptOutcome::Failed,
        };
        let result = match (output, error) {
            (_, Some(error)) => Err(error),
            (Some(output), None) => Ok(output),
            (None, None) => Err(JobError::permanent("the handler returned no output")),
        };
        Ok(JobRun {
            job_id,
            persisted: lease.is_some(),
            outcome,
            result,
            duration: started.elapsed(),
        })
    }
}

/// The record an unpersisted run works with: checked like a stored job,
/// running its first attempt, but never written.
fn unpersisted(new_job: &NewJob) -> Result<Job, WorkerError> {
    let now = chrono::Utc::now();
    let mut job = crate::job::prepare(new_job, now, None)?.job;
    job.status = JobStatus::Running;
    job.attempt = 1;
    job.started_at = Some(job.created_at);
    Ok(job)
}
