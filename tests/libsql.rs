//! The libSQL backend beside the Diesel one: one SQLite engine for both in
//! either order, the same migrations recorded in Diesel's own table, files
//! that either backend opens, and clear errors for bad locations.

#![cfg(feature = "libsql")]

mod common;
#[path = "support/old_release.rs"]
mod old_release;
#[path = "support/raw_connection.rs"]
mod raw_connection;

use raw_connection::raw_connection;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use jobstore::{
    ClaimRequest, CronStore, JobStatus, JobStore, LibsqlStore, NewJob, SqliteStore, StoreError,
};
use serde_json::json;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
const ORDER: &str = "JOBSTORE_TEST_ENGINE_ORDER";
const DIR: &str = "JOBSTORE_TEST_ENGINE_DIR";

/// What the child process does, in the order `ORDER` names: both backends
/// on their own files, then each reads the other's.
#[tokio::test]
#[ignore = "run in a fresh process by engines_share_one_sqlite_in_either_order"]
async fn engine_order_child() {
    let (Ok(order), Ok(dir)) = (std::env::var(ORDER), std::env::var(DIR)) else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    let (diesel_file, libsql_file) = (dir.join("diesel.db"), dir.join("libsql.db"));
    let (diesel, libsql) = if order == "diesel_first" {
        // A plain Diesel connection touches the engine before anything else.
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("SELECT 1").unwrap();
        let diesel = SqliteStore::open(&diesel_file).await.unwrap();
        (diesel, LibsqlStore::open_local(&libsql_file).await.unwrap())
    } else {
        let libsql = LibsqlStore::open_local(&libsql_file).await.unwrap();
        (SqliteStore::open(&diesel_file).await.unwrap(), libsql)
    };
    let a = diesel.create(NewJob::new("a", json!(1))).await.unwrap();
    let b = libsql.create(NewJob::new("b", json!(2))).await.unwrap();
    let libsql_reads_diesel = LibsqlStore::open_local(&diesel_file).await.unwrap();
    let diesel_reads_libsql = SqliteStore::open(&libsql_file).await.unwrap();
    assert_eq!(libsql_reads_diesel.get(a.id).await.unwrap(), a);
    assert_eq!(diesel_reads_libsql.get(b.id).await.unwrap(), b);
    println!("engine order ok: {order}");
}

#[test]
fn engines_share_one_sqlite_in_either_order() {
    for order in ["diesel_first", "libsql_first"] {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "engine_order_child", "--nocapture"])
            .env(ORDER, order)
            .env(DIR, dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(&format!("engine order ok: {order}")),
            "{order}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn a_file_made_by_either_backend_opens_in_the_other_without_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let by_libsql = dir.path().join("by_libsql.db");
    let store = LibsqlStore::open_local(&by_libsql).await.unwrap();
    assert_eq!(
        store.applied_on_open(),
        SqliteStore::known_migrations().unwrap().as_slice()
    );
    let job = store
        .create(NewJob::new("x", json!({ "k": 1 })))
        .await
        .unwrap();
    // Diesel itself sees every migration applied...
    let mut conn = raw_connection(&by_libsql);
    assert!(conn.pending_migrations(MIGRATIONS).unwrap().is_empty());
    assert_eq!(
        conn.applied_migrations().unwrap().len(),
        SqliteStore::known_migrations().unwrap().len()
    );
    // ...and so does the Diesel backend, which reads the job.
    let diesel = SqliteStore::open(&by_libsql).await.unwrap();
    assert!(diesel.applied_on_open().is_empty(), "nothing re-run");
    assert_eq!(diesel.get(job.id).await.unwrap(), job);

    let by_diesel = dir.path().join("by_diesel.db");
    let diesel = SqliteStore::open(&by_diesel).await.unwrap();
    let job = diesel.create(NewJob::new("y", json!([1]))).await.unwrap();
    let libsql = LibsqlStore::open_local(&by_diesel).await.unwrap();
    assert!(libsql.applied_on_open().is_empty(), "nothing re-run");
    let claimed = libsql.claim(&ClaimRequest::new("w", 1)).await.unwrap();
    assert_eq!(claimed[0].job.id, job.id);
    libsql
        .complete(&claimed[0].lease, json!("done"))
        .await
        .unwrap();
    assert_eq!(
        diesel.get(job.id).await.unwrap().status,
        JobStatus::Completed
    );
}

#[test]
fn diesel_cli_lists_a_libsql_file_as_fully_migrated() {
    // The Diesel CLI is what CI installs; without it this check has nothing
    // to run (the migration harness check above covers the same ground).
    if Command::new("diesel").arg("--version").output().is_err() {
        eprintln!("diesel CLI not found; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(LibsqlStore::open_local(&file)).unwrap();
    let output = Command::new("diesel")
        .args(["migration", "list", "--database-url"])
        .arg(&file)
        .arg("--migration-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{listed}");
    for name in SqliteStore::known_migrations().unwrap() {
        assert!(listed.contains(&format!("[X] {name}")), "{name}: {listed}");
    }
    assert!(!listed.contains("[ ]"), "{listed}");
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.db");
    drop(LibsqlStore::open_local(&file).await.unwrap());
    let mut conn = raw_connection(&file);
    conn.batch_execute(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')",
    )
    .unwrap();
    match LibsqlStore::open_local(&file).await.unwrap_err() {
        StoreError::SchemaTooNew { database, binary } => {
            assert_eq!(database, "20991231000000");
            let newest = SqliteStore::known_migrations().unwrap().pop().unwrap();
            assert_eq!(binary, newest.split('_').next().unwrap().replace('-', ""));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_locations_get_clear_errors_and_files_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_db = dir.path().join("notes.txt");
    std::fs::write(
        &not_a_db,
        "these are my notes, not a database\n".repeat(200),
    )
    .unwrap();
    let before = std::fs::read(&not_a_db).unwrap();
    let err = LibsqlStore::open_local(&not_a_db)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a database"), "{err}");
    assert_eq!(std::fs::read(&not_a_db).unwrap(), before, "left untouched");

    let err = LibsqlStore::open_local(dir.path().join("missing/dir/jobs.db"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist"), "{err}");

    let err = LibsqlStore::open_remote("ftp://example.com", "")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("libsql://"), "{err}");

    // Nothing listens on port 9 of this machine.
    let err = LibsqlStore::open_remote("http://127.0.0.1:9", "")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("http://127.0.0.1:9"), "{err}");
}

struct Double;

#[async_trait]
impl JobType for Double {
    const NAME: &'static str = "double";
    type Params = i64;
    type Output = i64;

    async fn run(&self, n: i64, ctx: &JobContext) -> Result<i64, JobError> {
        ctx.progress("doubling", Some(50.0)).await?;
        Ok(n * 2)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_jobs_on_libsql() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn JobStore> = Arc::new(
        LibsqlStore::open_local(dir.path().join("jobs.db"))
            .await
            .unwrap(),
    );
    let mut registry = Registry::new();
    registry.register(Double).unwrap();
    let config = WorkerConfig {
        poll_interval: Duration::from_millis(10),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(Arc::clone(&store), registry, config).unwrap();
    let client = worker.client();
    let ids = client.later_many::<Double>(&[1, 2, 3, 4, 5]).await.unwrap();
    let summary = worker.run_once(10).await.unwrap();
    assert_eq!(summary.completed, 5);
    for (n, id) in ids.into_iter().enumerate() {
        let job = store.get(id).await.unwrap();
        assert_eq!(job.result, Some(json!((n as i64 + 1) * 2)));
        assert_eq!(
            (job.stage.as_deref(), job.progress),
            (Some("doubling"), Some(50.0))
        );
    }
}

#[tokio::test]
async fn a_database_made_by_an_older_release_is_upgraded_keeping_its_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.db");
    // The first release: only the jobs table, and a job in it.
    let mut conn = raw_connection(&file);
    conn.run_next_migration(MIGRATIONS).unwrap();
    let id = old_release::insert_job(&mut conn, "old", 1_000, None, 0);
    drop(conn);

    let store = LibsqlStore::open_local(&file).await.unwrap();
    let known = SqliteStore::known_migrations().unwrap();
    assert_eq!(store.applied_on_open(), &known[1..], "the newer migrations");
    assert_eq!(store.get(id).await.unwrap().job_type, "old");
    let schedule = jobstore::cron::NewCronSchedule::new("after-upgrade", "old", "0 * * * *");
    store.declare_schedule(&schedule).await.unwrap();
    let mut conn = raw_connection(&file);
    assert!(conn.pending_migrations(MIGRATIONS).unwrap().is_empty());
}

#[tokio::test]
async fn a_database_of_the_release_before_queues_is_upgraded_into_the_default_queue() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.db");
    let now = chrono::Utc::now().timestamp_millis();
    let mut conn = old_release::database(&file, old_release::BEFORE_QUEUES);
    let first = old_release::insert_job(&mut conn, "old", now - 2_000, None, 0);
    let later = old_release::insert_job(&mut conn, "old", now + 3_600_000, None, 0);
    let running = old_release::insert_job(&mut conn, "old", now - 3_000, Some("rendering"), 1);
    drop(conn);

    let store = LibsqlStore::open_local(&file).await.unwrap();
    let known = SqliteStore::known_migrations().unwrap();
    assert_eq!(
        store.applied_on_open(),
        &known[old_release::BEFORE_QUEUES..]
    );
    for id in [first, later, running] {
        let job = store.get(id).await.unwrap();
        assert_eq!(
            (job.queue.as_str(), job.priority, job.unique),
            ("default", 5, None)
        );
    }
    assert_eq!(
        store.queue_positions(&[first, later]).await.unwrap(),
        vec![Some(0), None]
    );
    old_release::assert_running_job_counted_and_listed(&store, running, 2).await;
    assert_eq!(store.rescue_expired().await.unwrap().requeued, 1);
    let rescued = store.get(running).await.unwrap();
    assert_eq!((rescued.stage, rescued.progress), (None, None));
    let claimed = store
        .claim(&jobstore::ClaimRequest::new("new-worker", 10))
        .await
        .unwrap();
    let ids: Vec<jobstore::JobId> = claimed.iter().map(|c| c.job.id).collect();
    assert_eq!(ids, vec![running, first]);
}

#[tokio::test]
async fn a_local_file_is_checkpointed_by_a_thread_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let config =
        jobstore::LibsqlConfig::local(&path).checkpoint_interval(Some(Duration::from_millis(20)));
    let store = LibsqlStore::open_with(config).await.unwrap();
    for n in 0..20 {
        store
            .create(NewJob::new("email", json!({ "n": n })))
            .await
            .unwrap();
    }
    let (frames, backfilled) = common::poll(Duration::from_secs(10), "a checkpoint", || {
        let (frames, backfilled) = common::wal_frames(&path);
        (frames > 0 && backfilled == frames).then_some((frames, backfilled))
    });
    // Twenty small commits stay far below the 1,000 (or 10,000) pages
    // after which a commit would checkpoint by itself.
    assert!(frames < 1_000, "{frames} frames");
    assert_eq!(backfilled, frames);
    assert_eq!(store.count_by_status().await.unwrap().pending, 20);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_by_name_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let content = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &content).unwrap();
    let err = LibsqlStore::open_local(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("not a database"), "{shown}");
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the driver's error is kept as the source: {err:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
}
