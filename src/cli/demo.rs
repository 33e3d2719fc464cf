//! `jobstore demo`: the whole product in well under a minute, on whatever
//! database the command line names (the embedded file by default).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;
use indicatif::{MultiProgress, ProgressBar};
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;

use super::job_bar::JobBar;
use super::registry::builtin_registry;
use super::{format, CliError};
use crate::exec::{Exec, ExecParams};
use crate::worker::{Backoff, JobType, Worker, WorkerConfig};
use crate::{Job, JobId, JobStatus, JobStore};

/// The demo gives up (and says so) after this long.
const DEADLINE: Duration = Duration::from_secs(50);

/// The job the demo cancels once it reaches this percent.
const CANCEL_AT: f32 = 30.0;

/// One demo job: a label and the shell script its `exec` job runs.
struct DemoJob {
    label: &'static str,
    script: &'static str,
    expected: JobStatus,
}

const JOBS: [DemoJob; 5] = [
    DemoJob {
        label: "transcode",
        script: r#"echo '::progress stage=probing'; sleep 0.6
for p in 0 10 20 30 40 50 60 70 80 90 100; do
  echo "::progress stage=encoding percent=$p"; sleep 0.25
done
echo '::progress stage=uploading'; sleep 0.6; echo 'talk.mp4 ready'"#,
        expected: JobStatus::Completed,
    },
    DemoJob {
        label: "thumbnails",
        script: r#"for i in 1 2 3 4 5 6 7 8; do
  echo "::progress stage=\"making thumbnails\" percent=$((i * 100 / 8))"; sleep 0.3
done
echo '8 thumbnails written'"#,
        expected: JobStatus::Completed,
    },
    DemoJob {
        label: "flaky-upload",
        // Fails with a transient exit code on its first attempt only.
        script: r#"echo '::progress stage=connecting'; sleep 0.5
if [ ! -e "$DEMO_DIR/flaky-attempted" ]; then
  touch "$DEMO_DIR/flaky-attempted"; echo 'connection reset by peer' >&2; exit 75
fi
for p in 25 50 75 100; do echo "::progress stage=uploading percent=$p"; sleep 0.2; done
echo 'uploaded on the second try'"#,
        expected: JobStatus::Completed,
    },
    DemoJob {
        label: "nightly-backup",
        // Starts a child of its own, which cancellation must kill too.
        script: r#"sleep 600 & echo $! > "$DEMO_DIR/backup-child.pid"
for p in $(seq 0 2 100); do echo "::progress stage=copying percent=$p"; sleep 0.2; done"#,
        expected: JobStatus::Cancelled,
    },
    DemoJob {
        label: "report",
        script: r#"echo '::progress stage="crunching numbers"'; sleep 2
echo '::progress stage=rendering percent=50'; sleep 0.5; echo 'report.pdf'"#,
        expected: JobStatus::Completed,
    },
];

/// Runs the demo: enqueues the jobs, runs a worker, shows live progress,
/// cancels one, and ends with a summary.
pub(super) async fn run(store: Arc<dyn JobStore>) -> Result<ExitCode, CliError> {
    let scratch = std::env::temp_dir().join(format!("jobstore-demo-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| CliError::Output(format!("cannot create {}: {e}", scratch.display())))?;
    let outcome = demo(store, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    outcome
}

async fn demo(store: Arc<dyn JobStore>, scratch: &Path) -> Result<ExitCode, CliError> {
    let correlation = format!("demo-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S"));
    let mut ids = Vec::with_capacity(JOBS.len());
    for job in &JOBS {
        let params = ExecParams::new("sh")
            .args(["-c", job.script])
            .env("DEMO_DIR", scratch.display().to_string())
            .transient_exit_codes([75]);
        let new = Exec::job(&params)?.correlation_id(correlation.clone());
        ids.push(store.create(new).await?.id);
    }
    println!(
        "enqueued {} exec jobs ({correlation}); a worker runs them:",
        ids.len()
    );

    let worker = Worker::new(Arc::clone(&store), builtin_registry()?, demo_config())?;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (worker, shutdown) = (worker.clone(), shutdown.clone());
        async move { worker.run(shutdown).await }
    });

    let jobs = watch(&*store, &ids).await;
    shutdown.cancel();
    let stopped = running
        .await
        .map_err(|e| CliError::Output(format!("the worker task failed: {e}")))?;
    stopped?;
    let jobs = jobs?;
    print_summary(&jobs, scratch, &correlation);
    let as_expected = jobs
        .iter()
        .zip(&JOBS)
        .all(|(job, demo)| job.status == demo.expected);
    Ok(if as_expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn demo_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: JOBS.len(),
        poll_interval: Duration::from_millis(100),
        max_poll_interval: Duration::from_millis(200),
        heartbeat_interval: Duration::from_millis(200),
        lease_duration: Duration::from_secs(5),
        kill_grace: Duration::from_secs(2),
        backoff: Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(1),
            jitter: 0.0,
        },
        ..WorkerConfig::default()
    }
}

/// Shows a bar per job until every job has ended, cancelling the backup
/// once it is under way.
async fn watch(store: &dyn JobStore, ids: &[JobId]) -> Result<Vec<Job>, CliError> {
    let multi = MultiProgress::new();
    let bars = JOBS
        .iter()
        .map(|job| JobBar::new(multi.add(ProgressBar::new(100)), job.label))
        .collect::<Result<Vec<_>, _>>()?;
    let deadline = Instant::now() + DEADLINE;
    let mut cancelled = false;
    loop {
        let mut jobs = Vec::with_capacity(ids.len());
        for (id, bar) in ids.iter().zip(&bars) {
            let job = store.get(*id).await?;
            let ahead = match job.status {
                JobStatus::Pending => store.queue_position(job.id).await?,
                _ => None,
            };
            bar.update(&job, ahead);
            jobs.push(job);
        }
        if jobs.iter().all(|job| job.status.is_terminal()) {
            return Ok(jobs);
        }
        let backup = &jobs[3];
        if !cancelled && backup.progress.unwrap_or(0.0) >= CANCEL_AT {
            store.cancel(backup.id).await?;
            cancelled = true;
            let _ = multi.println(format!(
                "cancelling nightly-backup at {} (its worker stops it within a heartbeat)",
                format::percent_text(CANCEL_AT)
            ));
        }
        if Instant::now() >= deadline {
            for job in jobs.iter().filter(|job| !job.status.is_terminal()) {
                store.cancel(job.id).await?;
            }
            return Err(CliError::Output(format!(
                "the demo did not finish within {DEADLINE:?}"
            )));
        }
        sleep(Duration::from_millis(100)).await;
    }
}

fn print_summary(jobs: &[Job], scratch: &Path, correlation: &str) {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["JOB", "STATUS", "ATTEMPTS", "OUTCOME"]);
    for (job, demo) in jobs.iter().zip(&JOBS) {
        table.add_row([
            demo.label.to_string(),
            job.status.to_string(),
            job.attempt.to_string(),
            outcome(job),
        ]);
    }
    println!("\n{table}");
    if let Some(flaky) = jobs.get(2).filter(|job| job.retry_count > 0) {
        println!(
            "flaky-upload failed transiently ({}), was retried with backoff and succeeded on attempt {}",
            flaky.error.as_deref().unwrap_or("exit 75").replace('\n', " "),
            flaky.attempt
        );
    }
    if let Some(pid) = child_pid(&scratch.join("backup-child.pid")) {
        let gone = !process_alive(pid);
        println!(
            "nightly-backup was cancelled mid-flight; its child process {pid} is {}",
            if gone {
                "gone (killed with its process group)"
            } else {
                "STILL RUNNING"
            }
        );
    }
    println!("inspect them: jobstore list --correlation-id {correlation}");
}

/// The last line of stdout of a completed exec job, or a failed one's
/// error in one line, with its cause.
fn outcome(job: &Job) -> String {
    if let Some(result) = &job.result {
        return result["stdout_tail"]
            .as_array()
            .and_then(|lines| lines.last())
            .and_then(|line| line.as_str())
            .unwrap_or("-")
            .to_string();
    }
    match job.status {
        JobStatus::Cancelled => "cancelled while running".into(),
        _ => super::format::error_summary(job.error.as_deref().unwrap_or("-")),
    }
}

/// Whether a process runs: a zombie (dead, not yet reaped by its new
/// parent) does not.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn child_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
