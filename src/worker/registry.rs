//! The map from job type names to handlers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{JobContext, JobError, JobType, ProgramAllowlist, WorkerError};
use crate::cron::NewCronSchedule;
use crate::error::StoreError;
use crate::job::NewJob;

/// A handler with its types erased, as the worker calls it.
#[async_trait]
pub(crate) trait Handler: Send + Sync {
    fn timeout(&self) -> Duration;
    /// Why `params` can never run as this type, if so.
    fn check(&self, params: &serde_json::Value, allowed: &ProgramAllowlist) -> Result<(), String>;
    async fn run(
        &self,
        params: serde_json::Value,
        ctx: &JobContext,
    ) -> Result<serde_json::Value, JobError>;
}

struct Typed<J>(J);

#[async_trait]
impl<J: JobType> Handler for Typed<J> {
    fn timeout(&self) -> Duration {
        self.0.timeout()
    }

    fn check(&self, params: &serde_json::Value, allowed: &ProgramAllowlist) -> Result<(), String> {
        let params: J::Params = parse_params::<J>(params.clone())?;
        self.0
            .check(&params, allowed)
            .map_err(|e| format!("job type {}: {e}", J::NAME))
    }

    async fn run(
        &self,
        params: serde_json::Value,
        ctx: &JobContext,
    ) -> Result<serde_json::Value, JobError> {
        let params = parse_params::<J>(params).map_err(JobError::permanent)?;
        let output = self.0.run(params, ctx).await?;
        serde_json::to_value(output)
            .map_err(|e| JobError::permanent(format!("output cannot be serialized: {e}")))
    }
}

/// `params` as `J`'s params, or which field does not fit and why.
fn parse_params<J: JobType>(params: serde_json::Value) -> Result<J::Params, String> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        format!(
            "params do not fit job type {}: at `{path}`: {}",
            J::NAME,
            e.inner()
        )
    })
}

/// The job types a worker can run, by name.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn Handler>>,
    stages: BTreeMap<&'static str, &'static [&'static str]>,
    queues: BTreeMap<&'static str, &'static str>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `job` under `J::NAME`; a name registered twice, or a
    /// `J::QUEUE` that is not a valid queue name, is an error.
    pub fn register<J: JobType>(&mut self, job: J) -> Result<&mut Self, WorkerError> {
        if self.handlers.contains_key(J::NAME) {
            return Err(WorkerError::DuplicateJobType(J::NAME.to_string()));
        }
        crate::job::validate_queue_name(J::QUEUE)
            .map_err(|e| WorkerError::Config(format!("job type {:?}: its QUEUE: {e}", J::NAME)))?;
        self.handlers.insert(J::NAME, Arc::new(Typed(job)));
        self.stages.insert(J::NAME, J::STAGES);
        self.queues.insert(J::NAME, J::QUEUE);
        Ok(self)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }

    /// The declared stages of a job type.
    pub fn stages(&self, job_type: &str) -> Option<&'static [&'static str]> {
        self.stages.get(job_type).copied()
    }

    /// Where `stage` stands among its type's declared stages: `(2, 4)` for
    /// "stage 2 of 4"; `None` when the type declares no such stage.
    pub fn stage_position(&self, job_type: &str, stage: &str) -> Option<(usize, usize)> {
        let stages = self.stages(job_type)?;
        let index = stages.iter().position(|s| *s == stage)?;
        Some((index + 1, stages.len()))
    }

    /// The queue a job type's jobs go to unless they name another.
    pub fn queue(&self, job_type: &str) -> Option<&'static str> {
        self.queues.get(job_type).copied()
    }

    /// Checks a job before it is stored: its type is registered here, its
    /// params deserialize into the type's params, and the type's own
    /// [`JobType::check`] passes (with `allowed`, the programs a worker
    /// lets jobs start). A job that names no queue is put in its type's.
    ///
    /// The error names the type, and the field that does not fit.
    pub fn check(&self, job: &mut NewJob, allowed: &ProgramAllowlist) -> Result<(), StoreError> {
        let Some(handler) = self.handler(job.job_type()) else {
            return Err(StoreError::InvalidInput(format!(
                "unknown job type {:?}: no handler is registered for it (known: {})",
                job.job_type(),
                self.names().join(", ")
            )));
        };
        handler
            .check(job.params(), allowed)
            .map_err(StoreError::InvalidInput)?;
        if job.queue.is_none() {
            job.queue = self.queue(job.job_type()).map(str::to_string);
        }
        Ok(())
    }

    /// Checks the job a cron schedule would enqueue, as
    /// [`Registry::check`] checks a job.
    pub fn check_schedule(
        &self,
        schedule: &NewCronSchedule,
        allowed: &ProgramAllowlist,
    ) -> Result<(), StoreError> {
        let mut job = NewJob::new(schedule.job_type.clone(), schedule.params.clone());
        self.check(&mut job, allowed)
    }

    pub(crate) fn handler(&self, job_type: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(job_type).cloned()
    }
}
