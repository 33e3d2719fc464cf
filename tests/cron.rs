//! Cron schedules fired by real worker processes sharing one database file,
//! and the `jobstore cron` commands.

#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;
use common::{jobstore, stdout_of, ChildGuard};
use std::time::Duration;

use jobstore::cron::{correlation_id, NewCronSchedule};
use jobstore::{CronStore, JobStore, ListQuery, SqliteStore};

fn stderr_of_failure(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `jobstore worker` process on `dir/jobstore.db`. It runs only `exec`
/// jobs, so the `tick` jobs schedules enqueue stay pending to be counted.
fn worker_process(dir: &Path, id: &str) -> ChildGuard {
    let child = Command::new(env!("CARGO_BIN_EXE_jobstore"))
        .args(["worker", "--json", "--id", id])
        .current_dir(dir)
        .env_remove("JOBSTORE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start worker");
    ChildGuard::new(child)
}

fn stop(child: ChildGuard) -> serde_json::Value {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let output = child.wait_with_output(Duration::from_secs(60));
    serde_json::from_str(&stdout_of(&output)).expect("worker summary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_in_separate_processes_fire_each_tick_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jobstore.db"))
        .await
        .unwrap();
    let names: Vec<String> = (0..4).map(|i| format!("every-second-{i}")).collect();
    for name in &names {
        store
            .declare_schedule(&NewCronSchedule::new(name, "tick", "* * * * * *"))
            .await
            .unwrap();
    }
    let mut workers: Vec<ChildGuard> = (0..4)
        .map(|i| worker_process(dir.path(), &format!("w{i}")))
        .collect();
    // Every worker running before the ticks that count: on a loaded
    // machine the first could otherwise fire many ticks alone before the
    // others have started.
    let (ready_tx, ready) = std::sync::mpsc::channel();
    for worker in &mut workers {
        let stderr = worker.child().stderr.take().expect("piped stderr");
        let ready_tx = ready_tx.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(stderr).lines();
            let started = lines
                .by_ref()
                .map_while(Result::ok)
                .any(|line| line.contains(" running "));
            let _ = ready_tx.send(started);
            // Keep reading, so a worker never blocks on a full pipe.
            lines.for_each(drop);
        });
    }
    for _ in 0..workers.len() {
        let started = ready
            .recv_timeout(Duration::from_secs(60))
            .expect("a worker did not start within 60 s");
        assert!(started, "a worker ended before it started running");
    }
    let all_running = chrono::Utc::now();

    // Until every schedule has fired several ticks since all four run
    // (each worker wakes at every tick, so all four race for each one).
    let wanted = 5;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut fewest = usize::MAX;
        for name in &names {
            let since = runs(&store, name)
                .await
                .iter()
                .filter(|job| job.run_at > all_running)
                .count();
            fewest = fewest.min(since);
        }
        if fewest >= wanted {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "schedules fired too few ticks"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let summaries: Vec<serde_json::Value> = workers.into_iter().map(stop).collect();

    let mut total = 0;
    for name in &names {
        let jobs = runs(&store, name).await;
        let ticks: BTreeSet<_> = jobs.iter().map(|job| job.run_at).collect();
        assert_eq!(ticks.len(), jobs.len(), "{name}: a tick enqueued twice");
        let schedule = store.get_schedule(name).await.unwrap();
        assert_eq!(schedule.last_run_at, ticks.last().copied());
        total += jobs.len() as u64;
    }
    let fired: Vec<u64> = summaries
        .iter()
        .map(|s| s["cron_fired"].as_u64().unwrap())
        .collect();
    assert_eq!(
        fired.iter().sum::<u64>(),
        total,
        "every job was fired by exactly one worker: {fired:?}"
    );
    // Which worker won each tick is up to the machine's scheduler; that
    // all four contended for each counted tick is certain: all were
    // running before the first, and each stopped only afterwards, with
    // its summary (a worker that had died would have none).
    assert_eq!(fired.len(), 4);
}

async fn runs(store: &SqliteStore, name: &str) -> Vec<jobstore::Job> {
    store
        .list(
            &ListQuery::default()
                .correlation_id(correlation_id(name))
                .limit(1000),
        )
        .await
        .unwrap()
        .jobs
}

#[tokio::test]
async fn cron_commands_declare_list_disable_and_remove_schedules() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let added = stdout_of(&jobstore(
        d,
        &[
            "cron",
            "add",
            "nightly",
            "--type",
            "exec",
            "--cron",
            "30 2 * * *",
            "--timezone",
            "Europe/Berlin",
            "--params",
            r#"{"program": "true"}"#,
        ],
    ));
    assert!(added.starts_with("nightly: next run "), "{added}");
    assert!(added.contains("02:30:00 Europe/Berlin"), "{added}");
    // Declaring again is fine (idempotent).
    stdout_of(&jobstore(
        d,
        &[
            "cron",
            "add",
            "nightly",
            "--type",
            "exec",
            "--cron",
            "30 2 * * *",
            "--timezone",
            "Europe/Berlin",
            "--params",
            r#"{"program": "true"}"#,
        ],
    ));

    let refusals: [(&[&str], &str); 3] = [
        (&["--cron", "61 * * * *"], "\"61 * * * *\" is not valid"),
        (
            &["--cron", "0 9 * * *", "--timezone", "Berlin"],
            "unknown timezone \"Berlin\"",
        ),
        (
            &["--cron", "0 9 * * *", "--params", "{oops"],
            "--params is not valid JSON",
        ),
    ];
    for (extra, expected) in refusals {
        let mut args = vec!["cron", "add", "bad", "--type", "exec"];
        args.extend_from_slice(extra);
        let refused = stderr_of_failure(&jobstore(d, &args));
        assert!(refused.contains(expected), "{refused}");
    }

    let listed: serde_json::Value =
        serde_json::from_str(&stdout_of(&jobstore(d, &["cron", "list", "--json"]))).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "refused schedules were not stored");
    assert_eq!(listed[0]["name"], "nightly");
    assert_eq!(listed[0]["timezone"], "Europe/Berlin");
    assert_eq!(listed[0]["enabled"], true);
    let table = stdout_of(&jobstore(d, &["cron", "list"]));
    assert!(
        table.contains("nightly") && table.contains("30 2 * * *"),
        "{table}"
    );

    assert!(stdout_of(&jobstore(d, &["cron", "disable", "nightly"])).contains("disabled"));
    let listed: serde_json::Value =
        serde_json::from_str(&stdout_of(&jobstore(d, &["cron", "list", "--json"]))).unwrap();
    assert_eq!(listed[0]["enabled"], false);
    assert!(stdout_of(&jobstore(d, &["cron", "enable", "nightly"])).contains("enabled; next run"));
    assert!(stdout_of(&jobstore(d, &["cron", "runs", "nightly"])).contains("no jobs"));
    assert!(stdout_of(&jobstore(d, &["cron", "rm", "nightly"])).contains("deleted"));
    let missing = stderr_of_failure(&jobstore(d, &["cron", "rm", "nightly"]));
    assert!(
        missing.contains("cron schedule \"nightly\" not found"),
        "{missing}"
    );
    assert!(stdout_of(&jobstore(d, &["cron", "list"])).contains("no cron schedules"));
}

#[tokio::test]
async fn a_run_once_worker_fires_due_schedules_and_runs_their_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout_of(&jobstore(
        d,
        &[
            "cron",
            "add",
            "hello",
            "--type",
            "exec",
            "--cron",
            "* * * * * *",
            "--params",
            r#"{"program": "true"}"#,
        ],
    ));
    let store = SqliteStore::open(d.join("jobstore.db")).await.unwrap();
    // Wait until the first tick is due, by the schedule's own word.
    let due = store.get_schedule("hello").await.unwrap().next_run_at;
    while chrono::Utc::now() <= due {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let summary: serde_json::Value =
        serde_json::from_str(&stdout_of(&jobstore(d, &["worker", "--once", "--json"]))).unwrap();
    assert_eq!(summary["cron_fired"], 1);
    assert_eq!(summary["completed"], 1);
    let runs = stdout_of(&jobstore(d, &["cron", "runs", "hello", "--json"]));
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["status"], "completed", "{runs}");

    // With --no-cron the worker leaves schedules alone.
    let due = store.get_schedule("hello").await.unwrap().next_run_at;
    while chrono::Utc::now() <= due {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let summary: serde_json::Value = serde_json::from_str(&stdout_of(&jobstore(
        d,
        &["worker", "--once", "--no-cron", "--json"],
    )))
    .unwrap();
    assert_eq!(summary["cron_fired"], 0);
}
