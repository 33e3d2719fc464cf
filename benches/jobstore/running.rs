//! A worker running in the background of the bench, and stopping it.

use jobstore::worker::{RunSummary, Worker};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::BenchResult;

/// A worker's run, going on until [`Running::stop`].
pub struct Running {
    shutdown: CancellationToken,
    run: JoinHandle<Result<RunSummary, jobstore::worker::WorkerError>>,
}

impl Running {
    /// Starts `worker` in the background.
    pub fn start(worker: &Worker) -> Self {
        let shutdown = CancellationToken::new();
        let run = tokio::spawn({
            let (worker, shutdown) = (worker.clone(), shutdown.clone());
            async move { worker.run(shutdown).await }
        });
        Running { shutdown, run }
    }

    /// Shuts the worker down gracefully (its running attempts finish and
    /// their outcomes are written) and returns what it did.
    pub async fn stop(self) -> BenchResult<RunSummary> {
        self.shutdown.cancel();
        Ok(self.run.await??)
    }
}
