//! Operating many jobs at once: bulk retry, cancel and delete by filter and
//! pruning old finished jobs, through the `jobstore` binary on both local
//! backends; a worker's background retention; and freed pages given back
//! to the file system.

#![cfg(feature = "cli")]

mod common;
#[path = "support/raw_connection.rs"]
mod raw_connection;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use jobstore::worker::{JobContext, JobError, JobType, Registry, Retention, Worker, WorkerConfig};
use jobstore::{
    ClaimRequest, Completion, JobFilter, JobStatus, JobStore, LibsqlConfig, LibsqlStore, ListQuery,
    NewJob, SqliteStore,
};
use raw_connection::raw_connection;
use serde_json::{json, Value};

use common::{jobstore, stdout_of};

/// The two local backends, as `--database-url` names them.
const BACKENDS: [&str; 2] = ["sqlite:jobs.db", "libsql:jobs.db"];

fn run(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--database-url", url];
    all.extend_from_slice(args);
    jobstore(dir, &all)
}

fn ok(dir: &Path, url: &str, args: &[&str]) -> String {
    stdout_of(&run(dir, url, args))
}

fn json_of(dir: &Path, url: &str, args: &[&str]) -> Value {
    serde_json::from_str(&ok(dir, url, args)).expect("JSON output")
}

/// Enqueues an `exec` job running `script` and returns its id.
fn enqueue(dir: &Path, url: &str, script: &str, extra: &[&str]) -> String {
    let params = json!({ "program": "sh", "args": ["-c", script] }).to_string();
    let mut args = vec!["enqueue", "exec", "--params", &params];
    args.extend_from_slice(extra);
    ok(dir, url, &args).trim().to_string()
}

fn status_of(dir: &Path, url: &str, id: &str) -> String {
    json_of(dir, url, &["show", id, "--json"])["status"]
        .as_str()
        .expect("a status")
        .to_string()
}

#[test]
fn bulk_commands_act_on_exactly_the_jobs_their_filters_match() {
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let failing: Vec<String> = (0..3)
            .map(|_| enqueue(dir, url, "exit 3", &["--correlation-id", "batch-7"]))
            .collect();
        let fine = enqueue(dir, url, "true", &["--correlation-id", "batch-8"]);
        stdout_of(&run(dir, url, &["worker", "--once", "--concurrency", "8"]));
        for id in &failing {
            assert_eq!(status_of(dir, url, id), "failed", "{url}");
        }
        assert_eq!(status_of(dir, url, &fine), "completed", "{url}");

        // A dry run counts and changes nothing.
        let preview = json_of(
            dir,
            url,
            &[
                "retry",
                "--status",
                "failed",
                "--type",
                "exec",
                "--dry-run",
                "--json",
            ],
        );
        assert_eq!(
            (
                &preview["matched"],
                &preview["applied"],
                &preview["dry_run"]
            ),
            (&json!(3), &json!(3), &json!(true)),
            "{url}: {preview}"
        );
        let text = ok(dir, url, &["retry", "--status", "failed", "--dry-run"]);
        assert!(
            text.contains("dry run") && text.contains("would retry 3"),
            "{text}"
        );
        let pending = json_of(dir, url, &["list", "--status", "pending", "--json"]);
        assert_eq!(
            pending.as_array().map(Vec::len),
            Some(0),
            "{url}: {pending}"
        );

        // The retry, then the same retry again: each job is retried once.
        let done = json_of(dir, url, &["retry", "--status", "failed", "--json"]);
        assert_eq!((&done["matched"], &done["applied"]), (&json!(3), &json!(3)));
        let again = ok(dir, url, &["retry", "--status", "failed"]);
        assert!(
            again.contains("retried 0") && again.contains("skipped 3"),
            "{again}"
        );
        let pending = json_of(dir, url, &["list", "--status", "pending", "--json"]);
        assert_eq!(
            pending.as_array().map(Vec::len),
            Some(3),
            "{url}: {pending}"
        );

        // Cancel by correlation id reaches the retries (they keep it), not
        // the other batch.
        let cancelled = json_of(
            dir,
            url,
            &[
                "cancel",
                "--correlation-id",
                "batch-7",
                "--status",
                "pending",
                "--json",
            ],
        );
        assert_eq!(cancelled["applied"], json!(3), "{url}: {cancelled}");
        assert_eq!(status_of(dir, url, &fine), "completed");

        // Delete every finished job of the batch: the originals and their
        // cancelled retries.
        let deleted = ok(dir, url, &["delete", "--correlation-id", "batch-7"]);
        assert!(
            deleted.starts_with("6 jobs matched; deleted 6"),
            "{url}: {deleted}"
        );
        let left = json_of(dir, url, &["list", "--json"]);
        assert_eq!(left.as_array().map(Vec::len), Some(1), "{url}: {left}");
    }
}

#[test]
fn bulk_commands_refuse_unclear_targets_and_change_nothing() {
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let id = enqueue(dir, url, "true", &[]);
        for args in [
            vec!["cancel"],
            vec!["retry"],
            vec!["delete"],
            vec!["cancel", id.as_str(), "--type", "exec"],
            vec!["cancel", "--queue", "has space"],
            vec!["retry", "--status", "finished"],
            vec!["delete", "--created-before", "last tuesday"],
            vec!["cancel", id.as_str(), "--dry-run"],
        ] {
            let output = run(dir, url, &args);
            assert!(!output.status.success(), "{url} {args:?} succeeded");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!stderr.trim().is_empty(), "{args:?}: no reason given");
        }
        assert_eq!(status_of(dir, url, &id), "pending", "{url}");
    }
}

#[test]
fn cancelling_a_finished_job_is_refused_with_a_nonzero_exit() {
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let id = enqueue(dir, url, "true", &[]);
        stdout_of(&run(dir, url, &["worker", "--once"]));
        let output = run(dir, url, &["cancel", &id]);
        assert_eq!(output.status.code(), Some(1), "{url}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("already finished (completed)"),
            "{url}: {stderr}"
        );
        let pending = enqueue(dir, url, "true", &[]);
        let answer = json_of(dir, url, &["cancel", &pending, "--json"]);
        assert_eq!(answer["outcome"], json!("cancelled"), "{answer}");
        assert_eq!(answer["job"]["status"], json!("cancelled"), "{answer}");
    }
}

#[test]
fn prune_deletes_old_finished_jobs_and_keeps_the_rest() {
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let done: Vec<String> = (0..5).map(|_| enqueue(dir, url, "true", &[])).collect();
        let failed = enqueue(dir, url, "exit 1", &["--max-attempts", "1"]);
        stdout_of(&run(dir, url, &["worker", "--once", "--concurrency", "8"]));
        let waiting = enqueue(dir, url, "true", &[]);

        let preview = ok(dir, url, &["prune", "--older-than", "0s", "--dry-run"]);
        assert!(preview.contains("would delete 6"), "{url}: {preview}");
        let kept = ok(dir, url, &["prune", "--older-than", "1h"]);
        assert!(kept.contains("deleted 0"), "{url}: {kept}");
        let only_completed = json_of(
            dir,
            url,
            &[
                "prune",
                "--older-than",
                "0s",
                "--status",
                "completed",
                "--batch",
                "2",
                "--json",
            ],
        );
        assert_eq!(
            only_completed["deleted"],
            json!(5),
            "{url}: {only_completed}"
        );
        assert_eq!(status_of(dir, url, &failed), "failed");
        assert_eq!(
            status_of(dir, url, &waiting),
            "pending",
            "never a pending job"
        );
        for id in &done {
            let output = run(dir, url, &["show", id]);
            assert!(!output.status.success(), "{id} is still there");
        }
        let refused = run(
            dir,
            url,
            &["prune", "--older-than", "0s", "--status", "pending"],
        );
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("finished jobs only"));
        let vacuumed = ok(dir, url, &["prune", "--older-than", "0s", "--vacuum"]);
        assert!(
            vacuumed.contains("deleted 1") && vacuumed.contains("vacuumed"),
            "{vacuumed}"
        );
        assert_eq!(status_of(dir, url, &waiting), "pending");
    }
}

/// A job type that succeeds at once.
struct Noop;

#[async_trait]
impl JobType for Noop {
    const NAME: &'static str = "noop";
    type Params = Value;
    type Output = Value;

    async fn run(&self, params: Value, _ctx: &JobContext) -> Result<Value, JobError> {
        Ok(params)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_retention_deletes_finished_jobs_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn JobStore> =
        Arc::new(SqliteStore::open(dir.path().join("jobs.db")).await.unwrap());
    let mut registry = Registry::new();
    registry.register(Noop).unwrap();
    let config = WorkerConfig {
        poll_interval: Duration::from_millis(20),
        retention: Some(Retention::new(Duration::ZERO).interval(Duration::from_millis(20))),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let later = store
        .create(
            NewJob::new("noop", json!("later"))
                .run_at(chrono::Utc::now() + chrono::Duration::hours(1)),
        )
        .await
        .unwrap();
    let (shutdown, running) = common::start(&worker);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            store
                .create(NewJob::new("noop", json!(n)))
                .await
                .unwrap()
                .id,
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut left = 0;
        for id in &ids {
            match store.get(*id).await {
                Ok(job) => {
                    assert_ne!(job.status, JobStatus::Failed, "{job:?}");
                    left += 1;
                }
                Err(jobstore::StoreError::NotFound(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        if left == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{left} finished jobs are still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store.get(later.id).await.unwrap().status,
        JobStatus::Pending,
        "a pending job is never swept"
    );
    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.completed, 5);
}

#[test]
fn a_worker_refuses_retention_of_unfinished_statuses() {
    let config = WorkerConfig {
        retention: Some(Retention::new(Duration::from_secs(60)).status(JobStatus::Running)),
        ..WorkerConfig::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("finished jobs only"), "{err}");
}

/// Fills a store with `n` finished jobs of about 1 KiB of params each.
async fn finished_jobs(store: &dyn JobStore, n: usize) {
    let pad = "x".repeat(1024);
    for chunk in 0..n / 500 {
        let jobs = (0..500)
            .map(|i| NewJob::new("pad", json!({ "i": chunk * 500 + i, "pad": pad })))
            .collect();
        store.create_many(jobs).await.unwrap();
        let claimed = store.claim(&ClaimRequest::new("w", 500)).await.unwrap();
        let completions = claimed
            .iter()
            .map(|c| Completion::new(c.lease, json!(null)))
            .collect();
        store.complete_many(completions).await.unwrap();
    }
}

async fn prune_all(store: &dyn JobStore) -> u64 {
    let filter =
        JobFilter::default().finished_before(chrono::Utc::now() + chrono::Duration::minutes(1));
    let mut deleted = 0;
    loop {
        let n = store.prune(&filter, 1000).await.unwrap();
        deleted += n;
        if n < 1000 {
            return deleted;
        }
    }
}

#[tokio::test]
async fn pruning_gives_freed_pages_back_on_both_local_backends() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("a.db")).await.unwrap();
    let libsql = LibsqlStore::open_with(LibsqlConfig::local(dir.path().join("b.db")))
        .await
        .unwrap();
    let stores: [(&str, &dyn JobStore); 2] = [("sqlite", &sqlite), ("libsql", &libsql)];
    for (name, store) in stores {
        finished_jobs(store, 3000).await;
        let full = store.vacuum(false).await.unwrap().expect("a file");
        assert_eq!(prune_all(store).await, 3000, "{name}");
        let page = json!(store.list(&ListQuery::default()).await.unwrap().jobs);
        assert_eq!(page, json!([]), "{name}");
        // The prune already gave the pages back; this only reads the size.
        let after = store.vacuum(false).await.unwrap().expect("a file");
        assert!(
            after * 4 < full,
            "{name}: {full} bytes before the prune, {after} after"
        );
    }
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    auto_vacuum: i64,
}

fn auto_vacuum(path: &Path) -> i64 {
    let mut conn = raw_connection(path);
    diesel::sql_query("PRAGMA auto_vacuum")
        .load::<Setting>(&mut conn)
        .unwrap()[0]
        .auto_vacuum
}

#[tokio::test]
async fn a_file_made_without_incremental_vacuum_takes_it_at_a_full_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // A file whose first table came before any store opened it, as a file
    // of an earlier release did.
    SqliteConnection::establish(path.to_str().unwrap())
        .unwrap()
        .batch_execute("CREATE TABLE early (x INTEGER)")
        .unwrap();
    assert_eq!(auto_vacuum(&path), 0);
    let store = SqliteStore::open(&path).await.unwrap();
    finished_jobs(&store, 1000).await;
    assert_eq!(auto_vacuum(&path), 0, "an open does not rewrite the file");
    let full = store.vacuum(false).await.unwrap().unwrap();
    assert_eq!(prune_all(&store).await, 1000);
    let kept = store.vacuum(false).await.unwrap().unwrap();
    assert_eq!(
        kept, full,
        "without incremental vacuum the file keeps its size"
    );
    let rewritten = store.vacuum(true).await.unwrap().unwrap();
    assert!(rewritten * 4 < full, "{full} -> {rewritten}");
    assert_eq!(auto_vacuum(&path), 2, "incremental from now on");

    let fresh = dir.path().join("new.db");
    drop(SqliteStore::open(&fresh).await.unwrap());
    assert_eq!(
        auto_vacuum(&fresh),
        2,
        "a new file is incremental from the start"
    );
    let libsql_fresh = dir.path().join("new-libsql.db");
    drop(
        LibsqlStore::open_with(LibsqlConfig::local(&libsql_fresh))
            .await
            .unwrap(),
    );
    assert_eq!(auto_vacuum(&libsql_fresh), 2);
}

#[test]
fn params_from_a_file_or_stdin_and_batches_of_json_lines_are_enqueued() {
    use std::io::Write;
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        // Longer than one argument may be (128 KiB on Linux).
        let big = json!({ "program": "true", "args": ["x".repeat(300 * 1024)] });
        std::fs::write(dir.join("params.json"), big.to_string()).unwrap();
        let id = ok(dir, url, &["enqueue", "exec", "--params", "@params.json"]);
        let job = json_of(dir, url, &["show", id.trim(), "--json"]);
        assert_eq!(job["params"], big, "{url}");

        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jobstore"))
            .args([
                "--database-url",
                url,
                "enqueue",
                "exec",
                "--params",
                "-",
                "--json",
            ])
            .current_dir(dir)
            .env_remove("JOBSTORE_DATABASE_URL")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"program": "echo", "args": ["from stdin"]}"#)
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let job: Value = serde_json::from_str(&stdout_of(&output)).unwrap();
        assert_eq!(job["params"]["args"], json!(["from stdin"]), "{url}");
        assert_eq!(job["status"], json!("pending"));

        let lines = [
            json!({ "job_type": "exec", "params": { "program": "true" }, "queue": "a" }),
            json!({ "job_type": "exec", "params": { "program": "true" }, "priority": 1 }),
        ];
        let text = format!("{}\n\n{}\n", lines[0], lines[1]);
        std::fs::write(dir.join("jobs.jsonl"), text).unwrap();
        let ids = ok(dir, url, &["enqueue", "--batch", "jobs.jsonl"]);
        let ids: Vec<&str> = ids.lines().collect();
        assert_eq!(ids.len(), 2, "{url}");
        assert_eq!(
            json_of(dir, url, &["show", ids[0], "--json"])["queue"],
            json!("a")
        );
        assert_eq!(
            json_of(dir, url, &["show", ids[1], "--json"])["priority"],
            json!(1)
        );

        // One bad line refuses the whole batch, naming the line.
        let bad = format!(
            "{}\n{}\n",
            lines[0],
            json!({ "job_type": "exec", "params": { "program": "true", "nope": 1 } })
        );
        std::fs::write(dir.join("bad.jsonl"), bad).unwrap();
        let before = json_of(dir, url, &["list", "--json"])
            .as_array()
            .unwrap()
            .len();
        let refused = run(dir, url, &["enqueue", "--batch", "bad.jsonl"]);
        assert!(!refused.status.success(), "{url}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("line 2") && stderr.contains("nope"),
            "{stderr}"
        );
        let after = json_of(dir, url, &["list", "--json"])
            .as_array()
            .unwrap()
            .len();
        assert_eq!(before, after, "{url}: nothing stored");
        let missing = run(dir, url, &["enqueue", "exec", "--params", "@no-such.json"]);
        assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such.json"));
    }
}

#[test]
fn show_lists_every_attempt_with_its_full_error() {
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        // Fails once (transient exit 75, three lines of stderr), then succeeds.
        let marker = dir.join("tried");
        let script = format!(
            "if [ -e '{m}' ]; then echo ok; else touch '{m}'; echo one >&2; echo two >&2; \
             echo 'the cause' >&2; exit 75; fi",
            m = marker.display()
        );
        let params = json!({
            "program": "sh", "args": ["-c", script], "transient_exit_codes": [75]
        })
        .to_string();
        let id = ok(
            dir,
            url,
            &[
                "enqueue",
                "exec",
                "--params",
                &params,
                "--max-attempts",
                "3",
            ],
        );
        let id = id.trim();
        for _ in 0..2 {
            stdout_of(&run(dir, url, &["worker", "--once", "--id", "cli-worker"]));
            wait_until_due(dir, url, id);
        }
        let shown = json_of(dir, url, &["show", id, "--json"]);
        let attempts = shown["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 2, "{url}: {shown}");
        assert_eq!(attempts[0]["outcome"], json!("retried"));
        assert_eq!(attempts[0]["worker"], json!("cli-worker"));
        let error = attempts[0]["error"].as_str().unwrap();
        assert!(
            error.contains("the cause") && error.contains("exited with code 75"),
            "{error}"
        );
        assert_eq!(attempts[1]["outcome"], json!("completed"));
        let text = ok(dir, url, &["show", id]);
        assert!(text.contains("#1 retried on cli-worker"), "{text}");
        assert!(
            text.contains("      the cause"),
            "the whole error, line by line: {text}"
        );
        assert!(text.contains("#2 completed on cli-worker"), "{text}");
    }
}

/// Waits (at most 30 s) until the job is not scheduled in the future.
fn wait_until_due(dir: &Path, url: &str, id: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job = json_of(dir, url, &["show", id, "--json"]);
        let due = job["status"] != json!("pending")
            || chrono::DateTime::parse_from_rfc3339(job["run_at"].as_str().unwrap()).unwrap()
                <= chrono::Utc::now();
        if due {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{job}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_is_listed_alive_and_stopped_after_its_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let mut registry = Registry::new();
    registry.register(Noop).unwrap();
    let config = WorkerConfig {
        worker_id: "listed-worker".into(),
        ..WorkerConfig::default()
    }
    .queue("default", 3)
    .queue("video", 1);
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let (shutdown, running) = common::start(&worker);
    worker.ready().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let workers = store.workers().await.unwrap();
        if let Some(w) = workers.into_iter().find(|w| w.info.id == "listed-worker") {
            break w;
        }
        assert!(tokio::time::Instant::now() < deadline, "never announced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(listed.alive);
    assert_eq!(listed.info.pid, std::process::id());
    assert_eq!(
        listed.info.queues.into_iter().collect::<Vec<_>>(),
        [("default".to_string(), 3), ("video".to_string(), 1)]
    );
    assert!(!listed.info.host.is_empty());
    assert_eq!(listed.info.version, env!("CARGO_PKG_VERSION"));

    // The binary lists it too.
    let url = format!("sqlite:{}", path.display());
    let table = ok(dir.path(), &url, &["workers"]);
    assert!(
        table.contains("listed-worker") && table.contains("alive"),
        "{table}"
    );

    shutdown.cancel();
    running.await.unwrap().unwrap();
    let gone = store.workers().await.unwrap();
    assert!(!gone[0].alive && gone[0].stopped_at.is_some(), "{gone:?}");
    let listed = json_of(dir.path(), &url, &["workers", "--json"]);
    assert_eq!(listed[0]["alive"], json!(false), "{listed}");
}

#[test]
fn a_worker_logs_each_job_in_one_readable_line_or_as_json() {
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let fine = enqueue(dir, url, "echo hi", &["--queue", "default"]);
        let failing = enqueue(dir, url, "echo first >&2; echo the cause >&2; exit 3", &[]);
        let output = run(dir, url, &["worker", "--once", "--no-cron"]);
        let stdout = stdout_of(&output);
        assert_eq!(stdout.trim(), "ran 2 jobs: 1 completed, 1 failed", "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains('\u{1b}'),
            "no colour codes in a pipe: {stderr}"
        );
        for (id, end) in [(&fine, "completed in"), (&failing, "failed after")] {
            let short = &id[id.len() - 8..];
            let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(short)).collect();
            assert!(
                lines.iter().any(|l| l.contains("started")
                    && l.contains("type=exec")
                    && l.contains("queue=default")),
                "{url}: {stderr}"
            );
            assert!(lines.iter().any(|l| l.contains(end)), "{url}: {stderr}");
        }
        let failure = stderr
            .lines()
            .find(|l| l.contains("attempt failed"))
            .expect("the failure is logged");
        assert!(failure.contains("first | the cause"), "one line: {failure}");

        let again = enqueue(dir, url, "true", &[]);
        let output = run(
            dir,
            url,
            &["worker", "--once", "--log-format", "json", "--json"],
        );
        let summary: Value = serde_json::from_str(&stdout_of(&output)).unwrap();
        assert_eq!(summary["completed"], json!(1));
        let events: Vec<Value> = String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert!(
            events.iter().any(|e| e["fields"]["job_id"] == json!(again)),
            "{events:?}"
        );
    }
}

#[test]
fn watch_prints_a_finished_jobs_outcome_once_and_readably() {
    for url in BACKENDS {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let id = enqueue(dir, url, "echo working; echo all done", &[]);
        stdout_of(&run(dir, url, &["worker", "--once"]));
        let out = ok(dir, url, &["watch", &id]);
        assert_eq!(
            out.trim(),
            "completed: exit 0; last line: all done",
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_and_the_http_api_show_a_job_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let url = format!("sqlite:{}", path.display());
    let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(jobstore::http::serve(
        listener,
        jobstore::http::HttpState::new(Arc::clone(&store)),
        stop.clone(),
    ));
    let d = dir.path().to_path_buf();
    let (id, cli) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            let id = enqueue(
                &d,
                &url,
                "true",
                &["--priority", "2", "--correlation-id", "c-1"],
            );
            let mut shown = json_of(&d, &url, &["show", &id, "--json"]);
            shown.as_object_mut().unwrap().remove("attempts");
            (id, shown)
        }
    })
    .await
    .unwrap();
    let http: Value = reqwest::get(format!("{base}/jobs/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cli, http, "one shape for a job");
    let d = dir.path().to_path_buf();
    let cancelled =
        tokio::task::spawn_blocking(move || json_of(&d, &url, &["cancel", &id, "--json"]))
            .await
            .unwrap();
    assert_eq!(cancelled["outcome"], json!("cancelled"));
    assert_eq!(cancelled["job"]["status"], json!("cancelled"));
    assert!(
        cancelled["job"].get("worker").is_some(),
        "the API's field names"
    );
    stop.cancel();
    server.await.unwrap().unwrap();
}

#[test]
fn cron_add_prints_the_stored_schedule_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let params = json!({ "program": "true" }).to_string();
    let stored = json_of(
        dir.path(),
        "sqlite:jobs.db",
        &[
            "cron",
            "add",
            "nightly",
            "--type",
            "exec",
            "--cron",
            "0 3 * * *",
            "--timezone",
            "Europe/Paris",
            "--params",
            &params,
            "--json",
        ],
    );
    assert_eq!(stored["name"], json!("nightly"));
    assert_eq!(stored["timezone"], json!("Europe/Paris"));
    assert!(stored["next_run_at"].is_string(), "{stored}");
}

#[test]
fn every_command_that_changes_something_can_answer_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = "sqlite:jobs.db";
    let migrated = json_of(d, url, &["migrate", "--json"]);
    assert!(
        migrated["applied"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{migrated}"
    );
    let again = json_of(d, url, &["migrate", "--json"]);
    assert_eq!(again["applied"], json!([]));
    let paused = json_of(d, url, &["queue", "pause", "video", "--json"]);
    assert_eq!(
        (&paused["name"], &paused["paused"]),
        (&json!("video"), &json!(true))
    );
    let limited = json_of(d, url, &["queue", "limit", "video", "2", "--json"]);
    assert_eq!(limited["concurrency_limit"], json!(2));
    let resumed = json_of(d, url, &["queue", "resume", "video", "--json"]);
    assert_eq!(resumed["paused"], json!(false));
    let params = json!({ "program": "true" }).to_string();
    json_of(
        d,
        url,
        &[
            "cron",
            "add",
            "n",
            "--type",
            "exec",
            "--cron",
            "0 3 * * *",
            "--params",
            &params,
            "--json",
        ],
    );
    let disabled = json_of(d, url, &["cron", "disable", "n", "--json"]);
    assert_eq!(disabled["enabled"], json!(false));
    let enabled = json_of(d, url, &["cron", "enable", "n", "--json"]);
    assert_eq!(enabled["enabled"], json!(true));
    let removed = json_of(d, url, &["cron", "rm", "n", "--json"]);
    assert_eq!(removed, json!({ "deleted": "n" }));
}
