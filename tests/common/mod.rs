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

/// Whether `pid` is running: its /proc entry exists and it is no zombie.
pub fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next();
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

/// The running children of `pid`, each with its command name, from /proc.
pub fn children_of(pid: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Gone since the listing: not a child any more.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let mut fields = stat[close + 1..].split_whitespace();
        let state = fields.next();
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) && !matches!(state, Some("Z") | Some("X")) {
            children.push((child, comm));
        }
    }
    children
}

/// Polls `check` every 10 ms until it gives a value, failing the test
/// with `what` after `limit`.
pub fn poll<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The write-ahead log's frame count and how many of those frames are
/// already copied into the database file, read from the `-shm` file (the
/// WAL-index header: `mxFrame` at byte 16, `nBackfill` at byte 96, in the
/// machine's byte order).
#[allow(dead_code)] // not every test binary reads the log
pub fn wal_frames(db: &std::path::Path) -> (u32, u32) {
    let shm = std::fs::read(db.with_extension("db-shm")).unwrap();
    let word = |at: usize| u32::from_ne_bytes(shm[at..at + 4].try_into().unwrap());
    (word(16), word(96))
}

/// A child process a test started: killed and reaped when dropped, so a
/// failing test leaves nothing running.
pub struct ChildGuard(Option<std::process::Child>);

impl ChildGuard {
    /// Guards `child`.
    pub fn new(child: std::process::Child) -> Self {
        ChildGuard(Some(child))
    }

    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, std::process::Child::id)
    }

    /// The child itself, to signal or read.
    pub fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("the child is still guarded")
    }

    /// Waits for the child to exit on its own (failing the test after
    /// `within`) and returns what it printed.
    pub fn wait_with_output(mut self, within: Duration) -> Output {
        let deadline = std::time::Instant::now() + within;
        let child = self.child();
        while child.try_wait().expect("wait for the child").is_none() {
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let output = self
                    .0
                    .take()
                    .expect("the child is still guarded")
                    .wait_with_output()
                    .expect("read the child's output");
                panic!(
                    "the child did not exit within {within:?}; it printed:\n{}\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.0
            .take()
            .expect("the child is still guarded")
            .wait_with_output()
            .expect("read the child's output")
    }
}

impl std::ops::Deref for ChildGuard {
    type Target = std::process::Child;

    fn deref(&self) -> &std::process::Child {
        self.0.as_ref().expect("the child is still guarded")
    }
}

impl std::ops::DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        self.child()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
