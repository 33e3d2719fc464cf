//! Helpers shared by the worker test files.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use jobstore::worker::{RunSummary, Worker, WorkerError};
use jobstore::{Job, JobId, JobStore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Waits until the job satisfies `done`, failing the test after 20 s.
pub async fn wait_for(store: &dyn JobStore, id: JobId, done: impl Fn(&Job) -> bool) -> Job {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let job = store.get(id).await.unwrap();
        if done(&job) {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A worker running in the background, stopped by cancelling the token.
pub fn start(
    worker: &Worker,
) -> (
    CancellationToken,
    JoinHandle<Result<RunSummary, WorkerError>>,
) {
    let shutdown = CancellationToken::new();
    let worker = worker.clone();
    let token = shutdown.clone();
    (
        shutdown,
        tokio::spawn(async move { worker.run(token).await }),
    )
}

/// Runs the `jobstore` binary in `dir` with `args`, ignoring any database
/// URL in the test's own environment.
pub fn jobstore(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .args(args)
        .current_dir(dir)
        .env_remove("JOBSTORE_DATABASE_URL")
        .output()
        .expect("run jobstore")
}

/// The stdout of a command that must have succeeded.
pub fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
