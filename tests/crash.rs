//! Real worker processes: one is SIGKILLed mid-job, another rescues the
//! job once the lease expires and completes it; the dead worker's late
//! completion is refused, and SIGTERM shuts a worker down cleanly.
//!
//! A SIGKILLed worker cannot stop its jobs' children itself: the kernel
//! kills each job's direct child when the worker dies (Linux's parent-death
//! signal), and an `exec` job rescued from a dead worker runs its program
//! again. What the child started itself (a grandchild) is orphaned, not
//! killed: only a supervisor can take it down, as a PID namespace does when
//! its PID 1 (here the worker) dies.
//!
//! The worker processes are this test binary run again with
//! `--ignored --exact worker_process`, told what to do by environment
//! variables, or the `jobstore` binary itself.

#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jobstore::exec::Exec;
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::{JobStatus, JobStore, Lease, NewJob, SqliteStore};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;

mod common;
use common::{children_of, jobstore, poll, running, stdout_of, wait_for, ChildGuard};

const DB: &str = "JOBSTORE_TEST_WORKER_DB";
const MODE: &str = "JOBSTORE_TEST_WORKER_MODE";

/// Blocks forever in mode "block"; completes at once in mode "finish".
struct Step;

#[async_trait]
impl JobType for Step {
    const NAME: &'static str = "step";
    type Params = ();
    type Output = String;

    async fn run(&self, _: (), ctx: &JobContext) -> Result<String, JobError> {
        ctx.progress("started", None).await?;
        if std::env::var(MODE).as_deref() == Ok("block") {
            std::future::pending::<()>().await;
        }
        Ok(format!("done by attempt {}", ctx.attempt()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the worker process the other tests start; not a test by itself"]
async fn worker_process() {
    let db = std::env::var(DB).expect("started by a crash test");
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(db).await.unwrap());
    let mut registry = Registry::new();
    registry.register(Step).unwrap().register(Exec).unwrap();
    let config = WorkerConfig {
        worker_id: format!("process-{}", std::process::id()),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(100),
        heartbeat_interval: Duration::from_millis(200),
        lease_duration: Duration::from_secs(1),
        rescue_interval: Duration::from_millis(100),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store, registry, config).unwrap();
    worker.run_until_signal().await.unwrap();
}

fn start_worker(db: &std::path::Path, mode: &str) -> ChildGuard {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["worker_process", "--exact", "--ignored", "--nocapture"])
        .env(DB, db)
        .env(MODE, mode)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ChildGuard::new(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_workers_job_is_rescued_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let id = store
        .create(NewJob::new("step", json!(null)))
        .await
        .unwrap()
        .id;

    let mut first = start_worker(&db, "block");
    let running = wait_for(&store, id, |j| j.stage.as_deref() == Some("started")).await;
    assert_eq!((running.status, running.attempt), (JobStatus::Running, 1));
    let first_worker = running.locked_by.clone().unwrap();
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();

    let mut second = start_worker(&db, "finish");
    let done = wait_for(&store, id, |j| j.status.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.attempt, 2, "rescued and claimed again");
    assert_eq!(done.retry_count, 1, "the lost attempt counts");
    assert_eq!(done.result, Some(json!("done by attempt 2")));

    // The dead worker's completion, had it arrived late, is refused.
    let late = store
        .complete(
            &Lease {
                job_id: id,
                attempt: 1,
            },
            json!(format!("late from {first_worker}")),
        )
        .await
        .unwrap_err();
    assert!(late.is_lease_lost(), "{late:?}");
    assert_eq!(store.get(id).await.unwrap(), done);

    // SIGTERM: the second worker shuts down gracefully and exits cleanly.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = second.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// Enqueues an `exec` job running `program` with `args` through the CLI.
fn enqueue_exec(dir: &Path, url: &str, params: serde_json::Value) -> String {
    let params = params.to_string();
    let output = jobstore(
        dir,
        &[
            "enqueue",
            "exec",
            "--params",
            &params,
            "--database-url",
            url,
        ],
    );
    stdout_of(&output).trim().to_string()
}

/// Waits until `parent` has a running child named `name`, and returns its
/// pid.
fn child_named(parent: u32, name: &str) -> u32 {
    poll(
        Duration::from_secs(20),
        &format!("{name} under {parent}"),
        || {
            children_of(parent)
                .into_iter()
                .find(|(_, comm)| comm == name)
                .map(|(pid, _)| pid)
        },
    )
}

/// Waits until `pid` is dead (gone, or a zombie no one has reaped yet).
fn dies(pid: u32, what: &str) {
    poll(Duration::from_secs(10), what, || {
        (!running(pid)).then_some(())
    });
}

/// The processes a test found, SIGKILLed when it ends if they still run:
/// left behind on purpose, or because an assertion failed first.
#[derive(Default)]
struct Reap(Vec<u32>);

impl Reap {
    fn add(&mut self, pid: u32) -> u32 {
        self.0.push(pid);
        pid
    }
}

impl Drop for Reap {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if running(pid) {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
    }
}

#[test]
fn a_sigkilled_cli_worker_takes_its_jobs_direct_children_but_not_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("jobs.db").display());
    enqueue_exec(
        dir.path(),
        &url,
        json!({ "program": "sleep", "args": ["600"] }),
    );
    enqueue_exec(
        dir.path(),
        &url,
        json!({ "program": "sh", "args": ["-c", "sleep 600 & wait"] }),
    );
    let mut worker = ChildGuard::new(
        Command::new(env!("CARGO_BIN_EXE_jobstore"))
            .args(["worker", "--no-cron", "--concurrency", "2"])
            .args(["--database-url", &url])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut reap = Reap::default();
    reap.add(worker.id());
    let sleep = reap.add(child_named(worker.id(), "sleep"));
    let shell = reap.add(child_named(worker.id(), "sh"));
    let grandchild = reap.add(child_named(shell, "sleep"));

    worker.kill().unwrap(); // SIGKILL: no chance to stop anything itself
    worker.wait().unwrap();
    dies(sleep, "the job's sleep 600 to die with its worker");
    dies(shell, "the job's shell to die with its worker");
    // Guaranteed for direct children only: the shell's own child outlives
    // them all, orphaned. Taking it down is the supervisor's job (a cgroup
    // or PID namespace: see the next test).
    assert!(
        running(grandchild),
        "the grandchild died too: update README.md and RELIABILITY.md, which say it does not"
    );
}

#[test]
fn a_worker_that_is_pid_1_of_a_pid_namespace_takes_every_descendant_with_it() {
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    let namespaces = root.as_ref().is_ok_and(|uid| *uid == 0)
        && Command::new("unshare")
            .args(["--fork", "--pid", "--mount-proc", "--kill-child", "true"])
            .status()
            .is_ok_and(|status| status.success());
    if !namespaces {
        eprintln!(
            "SKIPPED: needs root and unshare (util-linux) with PID namespaces, to run the \
             worker as PID 1 of a PID namespace"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("jobs.db").display());
    enqueue_exec(
        dir.path(),
        &url,
        json!({ "program": "sh", "args": ["-c", "sleep 600 & wait"] }),
    );
    // unshare forks the worker as PID 1 of a new PID namespace, as a
    // container runtime does (or as its init, which exits with its one
    // child).
    let mut unshare = ChildGuard::new(
        Command::new("unshare")
            .args(["--fork", "--pid", "--mount-proc", "--kill-child"])
            .arg(env!("CARGO_BIN_EXE_jobstore"))
            .args(["worker", "--no-cron", "--database-url", &url])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut reap = Reap::default();
    reap.add(unshare.id());
    let worker = reap.add(child_named(unshare.id(), "jobstore"));
    let shell = reap.add(child_named(worker, "sh"));
    let grandchild = reap.add(child_named(shell, "sleep"));

    kill(Pid::from_raw(worker as i32), Signal::SIGKILL).unwrap();
    dies(shell, "the job's shell to die with the namespace");
    dies(
        grandchild,
        "the shell's own sleep to die with the namespace",
    );
    unshare.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_workers_exec_job_loses_its_child_and_runs_again_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let store = SqliteStore::open(&db).await.unwrap();
    // The first run marks that it started and sleeps; a second run sees
    // the mark and finishes.
    let mark = dir.path().join("started");
    let script =
        r#"if [ -e "$MARK" ]; then echo second run; exit 0; fi; : > "$MARK"; exec sleep 600"#;
    let id = store
        .create(NewJob::new(
            "exec",
            json!({
                "program": "sh",
                "args": ["-c", script],
                "env": { "MARK": mark.to_str().unwrap() },
            }),
        ))
        .await
        .unwrap()
        .id;

    let mut first = start_worker(&db, "block");
    let mut reap = Reap::default();
    reap.add(first.id());
    let sleep = reap.add(child_named(first.id(), "sleep"));
    let running_job = store.get(id).await.unwrap();
    assert_eq!(
        (running_job.status, running_job.attempt),
        (JobStatus::Running, 1)
    );
    first.kill().unwrap();
    first.wait().unwrap();
    dies(
        sleep,
        "the first attempt's sleep 600 to die with its worker",
    );

    let mut second = start_worker(&db, "finish");
    reap.add(second.id());
    let done = wait_for(&store, id, |j| j.status.is_terminal()).await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert_eq!(done.attempt, 2, "rescued once its lease expired, run again");
    let result = done.result.unwrap();
    assert_eq!(result["stdout_tail"], json!(["second run"]), "{result}");
}
