//! A worker's own client: what enqueues through the worker wakes it.

use std::sync::Arc;

use super::Client;
use crate::job::{JobId, NewJob};
use crate::store::Enqueued;
use crate::worker::{Worker, WorkerError};

impl Worker {
    /// A client of this worker's store that wakes the worker whenever it
    /// enqueues, so a job enqueued in this process starts without waiting
    /// for the next poll. Its inline runs use this worker's settings.
    pub fn client(&self) -> Client {
        Client::waking(
            Arc::clone(self.store()),
            Arc::clone(self.shared_config()),
            self.keeper().clone(),
            Arc::clone(self.bell()),
            Arc::clone(self.registry()),
        )
    }

    /// Checks a job against this worker's registry (see
    /// [`Client::with_registry`]), enqueues it and wakes this worker at once, without waiting for
    /// its next poll; says whether the job was already there (its unique
    /// key held by another).
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, WorkerError> {
        self.client().enqueue(job).await
    }

    /// Enqueues many jobs in one transaction and wakes this worker.
    pub async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<JobId>, WorkerError> {
        let enqueued = self.client().enqueue_many(jobs).await?;
        Ok(enqueued.into_iter().map(|e| e.job.id).collect())
    }
}
