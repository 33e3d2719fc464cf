//! Running a list of jobs inline with bounded concurrency: `Client::batch`.

use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{self, StreamExt};

use super::{Client, JobRun, RunOptions};
use crate::worker::{JobType, WorkerError};

/// A started job's run, with its place in the batch.
type Indexed<T> = (usize, Result<JobRun<T>, WorkerError>);

/// How a batch is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOptions {
    /// The most jobs run at once (default 3).
    pub concurrency: usize,
    /// Start no more jobs once one has failed (default `false`: run them
    /// all). Jobs already running are let finish.
    pub stop_on_error: bool,
    /// How each job is run.
    pub run: RunOptions,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            concurrency: Self::DEFAULT_CONCURRENCY,
            stop_on_error: false,
            run: RunOptions::default(),
        }
    }
}

impl BatchOptions {
    /// Jobs run at once unless told otherwise.
    pub const DEFAULT_CONCURRENCY: usize = 3;
    /// The most jobs a batch may run at once.
    pub const MAX_CONCURRENCY: usize = 1000;

    /// The most jobs run at once.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Whether to start no more jobs once one has failed.
    pub fn stop_on_error(mut self, stop: bool) -> Self {
        self.stop_on_error = stop;
        self
    }

    /// How each job is run.
    pub fn run(mut self, run: RunOptions) -> Self {
        self.run = run;
        self
    }
}

/// What a batch did.
#[derive(Debug)]
pub struct BatchRun<T> {
    /// One entry per job started, in the order of the params given. Jobs
    /// start in that order, so these are the first `runs.len()` params.
    /// `Err` when the job could not be created or claimed.
    pub runs: Vec<Result<JobRun<T>, WorkerError>>,
    /// How many params at the end were never started, because a job failed
    /// and `stop_on_error` was set.
    pub not_started: usize,
}

impl<T> BatchRun<T> {
    /// Whether every job was started and succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.not_started == 0
            && self
                .runs
                .iter()
                .all(|run| matches!(run, Ok(run) if run.result.is_ok()))
    }
}

impl Client {
    /// Runs one job of type `J` per params inline, at most
    /// `options.concurrency` at a time, each as [`Client::now_with`] runs
    /// it. Returns when every started job has finished.
    pub async fn batch<J: JobType>(
        &self,
        job: &J,
        params: Vec<J::Params>,
        options: &BatchOptions,
    ) -> Result<BatchRun<J::Output>, WorkerError> {
        if !(1..=BatchOptions::MAX_CONCURRENCY).contains(&options.concurrency) {
            return Err(WorkerError::Config(format!(
                "batch concurrency is {}; it must be between 1 and {}",
                options.concurrency,
                BatchOptions::MAX_CONCURRENCY
            )));
        }
        let total = params.len();
        let stop = AtomicBool::new(false);
        let stop = &stop;
        let mut runs: Vec<Indexed<J::Output>> = stream::iter(params.into_iter().enumerate())
            .map(|(index, params)| async move {
                // Jobs are started in order, so once this is set every
                // later one is skipped: the runs are a prefix.
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
                let run = self.now_with(job, params, &options.run).await;
                let failed = !matches!(&run, Ok(run) if run.result.is_ok());
                if failed && options.stop_on_error {
                    stop.store(true, Ordering::SeqCst);
                }
                Some((index, run))
            })
            .buffer_unordered(options.concurrency)
            .filter_map(std::future::ready)
            .collect()
            .await;
        runs.sort_by_key(|(index, _)| *index);
        Ok(BatchRun {
            not_started: total - runs.len(),
            runs: runs.into_iter().map(|(_, run)| run).collect(),
        })
    }
}
