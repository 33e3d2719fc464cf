//! The built-in `exec` job type against real processes (`/bin/sh`), a real
//! SQLite file and a real worker: results, progress lines, exit codes,
//! timeouts and cancellation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jobstore::exec::{Exec, ExecOutput, ExecParams};
use jobstore::worker::{Backoff, JobType, Registry, Worker, WorkerConfig};
use jobstore::{Job, JobId, JobStatus, JobStore, NewJob, SqliteStore};
use serde_json::json;

mod common;
use common::{start, wait_for};

struct Setup {
    dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<dyn JobStore>,
    worker: Worker,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let mut registry = Registry::new();
    registry.register(Exec).unwrap();
    let config = WorkerConfig {
        worker_id: "exec-test-worker".into(),
        poll_interval: Duration::from_millis(20),
        max_poll_interval: Duration::from_millis(50),
        heartbeat_interval: Duration::from_millis(50),
        lease_duration: Duration::from_secs(5),
        kill_grace: Duration::from_millis(300),
        backoff: Backoff::NONE,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    Setup {
        dir,
        path,
        store,
        worker,
    }
}

/// `/bin/sh -c SCRIPT`.
fn sh(script: &str) -> ExecParams {
    ExecParams::new("/bin/sh").args(["-c", script])
}

impl Setup {
    async fn enqueue(&self, params: &ExecParams, max_attempts: u32) -> JobId {
        let job = Exec::job(params).unwrap().max_attempts(max_attempts);
        self.store.create(job).await.unwrap().id
    }

    /// Enqueues `params`, runs one attempt and returns the job after it.
    async fn run_once(&self, params: &ExecParams, max_attempts: u32) -> Job {
        let id = self.enqueue(params, max_attempts).await;
        self.worker.run_once(1).await.unwrap();
        self.store.get(id).await.unwrap()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn output(job: &Job) -> ExecOutput {
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    serde_json::from_value(job.result.clone().unwrap()).unwrap()
}

fn error(job: &Job) -> String {
    job.error.clone().unwrap_or_default()
}

/// The pids a script wrote to `path`, one a line.
fn pids_in(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| line.trim().parse().unwrap())
        .collect()
}

/// Whether `pid` is running: its /proc entry exists and it is no zombie.
fn running(pid: i32) -> bool {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_stores_the_exit_code_and_output_tails() {
    let s = setup().await;
    let job = s
        .run_once(&sh("echo one; echo two; echo careful >&2"), 1)
        .await;
    let out = output(&job);
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.stdout_tail, ["one", "two"]);
    assert_eq!(out.stderr_tail, ["careful"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_last_lines_are_kept_and_both_streams_are_read_at_once() {
    let s = setup().await;
    // About 100 KB on stderr before any stdout: more than a pipe holds, so
    // this would hang if stderr were read only after stdout ended.
    let script = r#"
        i=1; while [ $i -le 2000 ]; do echo "err $i: padding padding padding padding" >&2; i=$((i+1)); done
        i=1; while [ $i -le 30 ]; do echo "out $i"; i=$((i+1)); done
    "#;
    let out = output(&s.run_once(&sh(script), 1).await);
    let expected: Vec<String> = (11..=30).map(|i| format!("out {i}")).collect();
    assert_eq!(out.stdout_tail, expected);
    assert_eq!(out.stderr_tail.len(), 20);
    assert_eq!(
        out.stderr_tail.last().map(String::as_str),
        Some("err 2000: padding padding padding padding")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lines_become_the_stored_stage_and_percent() {
    let s = setup().await;
    let script = "echo '::progress stage=download percent=10'; echo working; \
                  echo '::progress stage=download percent=60.5'";
    let job = s.run_once(&sh(script), 1).await;
    assert_eq!(job.stage.as_deref(), Some("download"));
    assert_eq!(job.progress, Some(60.5));
    assert_eq!(
        output(&job).stdout_tail,
        ["working"],
        "progress lines left out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_without_a_percent_stores_none() {
    let s = setup().await;
    let script = "echo '::progress stage=download percent=50'; echo '::progress stage=verify'";
    let job = s.run_once(&sh(script), 1).await;
    assert_eq!(job.stage.as_deref(), Some("verify"));
    assert_eq!(job.progress, None);
    assert!(output(&job).stdout_tail.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quoted_stage_may_hold_spaces() {
    let s = setup().await;
    let job = s
        .run_once(
            &sh(r#"echo '::progress stage="uploading files" percent=30'"#),
            1,
        )
        .await;
    assert_eq!(job.stage.as_deref(), Some("uploading files"));
    assert_eq!(job.progress, Some(30.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_progress_lines_are_kept_as_output() {
    let s = setup().await;
    let lines = [
        "::progress percent=50",
        "::progress stage=upload percent=150",
        r#"::progress stage="unclosed"#,
        "::progress stage=upload pct=5",
    ];
    let script: String = lines.iter().map(|l| format!("echo '{l}'\n")).collect();
    let job = s.run_once(&sh(&script), 1).await;
    assert_eq!(output(&job).stdout_tail, lines);
    assert_eq!(job.stage, None, "no progress was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonzero_exit_fails_at_once_with_the_stderr_tail() {
    let s = setup().await;
    let job = s
        .run_once(&sh("echo 'no space left on device' >&2; exit 3"), 3)
        .await;
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    assert_eq!((job.attempt, job.retry_count), (1, 0), "one attempt spent");
    let error = error(&job);
    assert!(error.contains("exited with code 3"), "{error}");
    assert!(error.contains("no space left on device"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_exit_code_is_retried() {
    let s = setup().await;
    // Exits 75 the first time, succeeds the second.
    let marker = s.file("tried");
    let script = format!(
        "if [ -e '{m}' ]; then echo second; else touch '{m}'; echo busy >&2; exit 75; fi",
        m = marker.display()
    );
    let params = sh(&script).transient_exit_codes([75]);
    let job = s.run_once(&params, 3).await;
    assert_eq!((job.status, job.retry_count), (JobStatus::Pending, 1));
    assert!(error(&job).contains("exited with code 75"), "{job:?}");

    assert_eq!(s.worker.run_once(1).await.unwrap().completed, 1);
    let job = s.store.get(job.id).await.unwrap();
    assert_eq!(output(&job).stdout_tail, ["second"]);
    assert_eq!(job.attempt, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn death_by_a_signal_is_transient() {
    let s = setup().await;
    let job = s.run_once(&sh("kill -9 $$"), 2).await;
    assert_eq!((job.status, job.retry_count), (JobStatus::Pending, 1));
    assert!(error(&job).contains("SIGKILL"), "{job:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_and_cwd_are_applied() {
    let s = setup().await;
    let cwd = s.file("work");
    std::fs::create_dir(&cwd).unwrap();
    let params = sh(r#"echo "$GREETING"; pwd -P"#)
        .env("GREETING", "hello there")
        .cwd(cwd.to_str().unwrap());
    let out = output(&s.run_once(&params, 1).await);
    let real_cwd = cwd.canonicalize().unwrap();
    assert_eq!(out.stdout_tail, ["hello there", real_cwd.to_str().unwrap()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_program_knows_its_job_id_attempt_and_queue() {
    let s = setup().await;
    // The first attempt fails transiently, so the second shows attempt 2;
    // a job's own env cannot pose as another job.
    let marker = s.file("tried");
    let script = format!(
        "echo \"$JOBSTORE_JOB_ID $JOBSTORE_ATTEMPT/$JOBSTORE_MAX_ATTEMPTS $JOBSTORE_QUEUE $JOBSTORE_JOB_TYPE\"; \
         if [ ! -e '{m}' ]; then touch '{m}'; exit 75; fi",
        m = marker.display()
    );
    let params = sh(&script)
        .transient_exit_codes([75])
        .env("JOBSTORE_JOB_ID", "forged");
    let job = s.run_once(&params, 3).await;
    assert_eq!(job.status, JobStatus::Pending, "{job:?}");
    assert_eq!(s.worker.run_once(1).await.unwrap().completed, 1);
    let job = s.store.get(job.id).await.unwrap();
    assert_eq!(
        output(&job).stdout_tail,
        [format!("{} 2/3 default exec", job.id)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_cannot_start_fails_at_once_naming_it() {
    let s = setup().await;
    let not_executable = s.file("plain.txt");
    std::fs::write(&not_executable, "echo hi\n").unwrap();
    let missing_cwd = s.file("nowhere");
    let cases = [
        (
            ExecParams::new("/nonexistent/jobstore-test-tool"),
            "jobstore-test-tool".to_string(),
        ),
        (
            ExecParams::new("jobstore-no-such-tool"),
            "jobstore-no-such-tool".to_string(),
        ),
        (
            ExecParams::new(not_executable.to_str().unwrap()),
            "plain.txt".to_string(),
        ),
        (
            ExecParams::new("/bin/true").cwd(missing_cwd.to_str().unwrap()),
            "nowhere".to_string(),
        ),
    ];
    for (params, named) in cases {
        let job = s.run_once(&params, 3).await;
        assert_eq!(job.status, JobStatus::Failed, "{job:?}");
        assert_eq!(job.retry_count, 0, "no retry: {job:?}");
        assert!(error(&job).contains(&named), "{job:?} should name {named}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_unusable_params_fail_at_once_naming_the_field() {
    let s = setup().await;
    let cases = [
        (json!({ "program": "/bin/true", "argz": ["-v"] }), "argz"),
        (json!({ "args": [] }), "program"),
        (
            json!({ "program": "/bin/true", "timeout_secs": 0 }),
            "timeout_secs",
        ),
    ];
    for (params, named) in cases {
        let id = s
            .store
            .create(NewJob::new("exec", params).max_attempts(3))
            .await
            .unwrap()
            .id;
        s.worker.run_once(1).await.unwrap();
        let job = s.store.get(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Failed, "{job:?}");
        assert_eq!(job.retry_count, 0);
        assert!(error(&job).contains(named), "{job:?} should name {named}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_secs_kills_the_program_and_its_children() {
    let s = setup().await;
    let pid_file = s.file("pids");
    let script = format!(
        "sleep 611 & echo $! >> '{f}'; echo $$ >> '{f}'; echo '::progress stage=sleeping'; wait",
        f = pid_file.display()
    );
    let job = s.run_once(&sh(&script).timeout_secs(2), 2).await;
    assert_eq!((job.status, job.retry_count), (JobStatus::Pending, 1));
    assert_eq!(
        (job.stage.as_deref(), job.progress),
        (None, None),
        "back in line without the stage of the attempt that timed out"
    );
    assert!(error(&job).contains("timed out after 2s"), "{job:?}");
    let pids = pids_in(&pid_file);
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(!running(pid), "process {pid} outlived its timed-out job");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_exec_job_kills_the_program() {
    let s = setup().await;
    let pid_file = s.file("pid");
    let script = format!(
        "echo $$ > '{f}'; echo '::progress stage=sleeping'; exec sleep 612",
        f = pid_file.display()
    );
    let (shutdown, running_worker) = start(&s.worker);
    let id = s
        .worker
        .enqueue(Exec::job(&sh(&script)).unwrap())
        .await
        .unwrap()
        .job
        .id;
    wait_for(&*s.store, id, |j| j.stage.as_deref() == Some("sleeping")).await;
    let pid = pids_in(&pid_file)[0];
    assert!(running(pid));

    let other = SqliteStore::open(&s.path).await.unwrap();
    other.cancel(id).await.unwrap();
    let job = wait_for(&*s.store, id, |j| j.status.is_terminal()).await;
    assert_eq!(job.status, JobStatus::Cancelled);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "sleep {pid} was killed and reaped before the job was marked cancelled"
    );
    shutdown.cancel();
    assert_eq!(running_worker.await.unwrap().unwrap().cancelled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_process_holding_stdout_does_not_hold_up_the_job() {
    let s = setup().await;
    let pid_file = s.file("pid");
    let script = format!(
        "sleep 613 & echo $! > '{f}'; echo started",
        f = pid_file.display()
    );
    let job = s.run_once(&sh(&script), 1).await;
    assert_eq!(output(&job).stdout_tail, ["started"]);
    let pid = pids_in(&pid_file)[0];
    assert!(
        !running(pid),
        "the background sleep {pid} died with the job"
    );
}
