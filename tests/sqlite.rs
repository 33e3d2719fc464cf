//! What only the Diesel SQLite backend promises: a real file that survives
//! reopening, transactional enqueue through the caller's connection, and
//! clear refusals of databases it must not touch; and the log is
//! checkpointed by the store's own thread, not by commits.

mod common;
#[path = "support/old_release.rs"]
mod old_release;
#[path = "support/raw_connection.rs"]
mod raw_connection;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use jobstore::store::sqlite::{enqueue_in, enqueue_many_in};
use jobstore::{CronStore, JobId, JobStatus, JobStore, NewJob, SqliteStore, StoreError};
use raw_connection::raw_connection;
use serde_json::json;
use std::time::Duration;

/// The version of the newest migration this binary carries
/// (`2026-11-22-000002_create_cron_jobs` -> `20261122000002`).
fn newest_version() -> String {
    let names = SqliteStore::known_migrations().unwrap();
    let newest = names.last().unwrap();
    newest.split('_').next().unwrap().replace('-', "")
}

#[tokio::test]
async fn transactional_enqueue_exists_only_if_the_caller_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let mut conn = raw_connection(&path);
    conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)")
        .unwrap();

    // Rolled back: neither the order nor its job exists.
    let rolled_back = conn.transaction::<(), StoreError, _>(|conn| {
        conn.batch_execute("INSERT INTO orders (id, total) VALUES (1, 100)")?;
        let job = enqueue_in(conn, NewJob::new("receipt", json!({ "order": 1 })))?;
        Err(StoreError::InvalidInput(format!(
            "payment declined; job {} must vanish",
            job.id
        )))
    });
    assert!(rolled_back.is_err());
    assert_eq!(store.count_by_status().await.unwrap().total(), 0);

    // Committed: the jobs exist, claimable like any other.
    let jobs = conn
        .transaction::<_, StoreError, _>(|conn| {
            conn.batch_execute("INSERT INTO orders (id, total) VALUES (2, 200)")?;
            let first = enqueue_in(conn, NewJob::new("receipt", json!({ "order": 2 })))?;
            let more = enqueue_many_in(
                conn,
                vec![
                    NewJob::new("ship", json!({ "order": 2 })),
                    NewJob::new("invoice", json!({ "order": 2 })),
                ],
            )?;
            Ok([vec![first], more].concat())
        })
        .unwrap();
    assert_eq!(jobs.len(), 3);
    for job in &jobs {
        assert_eq!(store.get(job.id).await.unwrap(), *job);
    }
    assert_eq!(store.count_by_status().await.unwrap().pending, 3);
}

#[tokio::test]
async fn transactional_enqueue_refuses_bad_input_without_touching_the_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let mut conn = raw_connection(&path);
    let err = conn
        .transaction::<(), StoreError, _>(|conn| {
            enqueue_many_in(
                conn,
                vec![NewJob::new("ok", json!({})), NewJob::new("", json!({}))],
            )?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    assert_eq!(store.count_by_status().await.unwrap().total(), 0);
}

#[tokio::test]
async fn reopening_keeps_jobs_and_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        store.applied_on_open(),
        SqliteStore::known_migrations().unwrap()
    );
    let job = store
        .create(NewJob::new("keep", json!([1, 2, 3])))
        .await
        .unwrap();
    drop(store);

    let reopened = SqliteStore::open(&path).await.unwrap();
    assert!(reopened.applied_on_open().is_empty());
    assert_eq!(reopened.get(job.id).await.unwrap(), job);
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let job = store.create(NewJob::new("keep", json!({}))).await.unwrap();
    drop(store);
    raw_connection(&path)
        .batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')")
        .unwrap();

    let err = SqliteStore::open(&path).await.unwrap_err();
    match &err {
        StoreError::SchemaTooNew { database, binary } => {
            assert_eq!(database, "20991231000000");
            assert_eq!(binary, &newest_version());
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(err.to_string().contains("20991231000000"));
    assert!(err.to_string().contains(&newest_version()));

    // The job is still there, untouched.
    raw_connection(&path)
        .batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = '20991231000000'")
        .unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.get(job.id).await.unwrap(), job);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let content = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &content).unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("not a database"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/jobs.db");
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!dir.path().join("no").exists());
}

#[tokio::test]
async fn an_in_memory_path_is_refused_with_a_pointer_to_the_memory_store() {
    let err = SqliteStore::open(":memory:").await.unwrap_err();
    assert!(err.to_string().contains("MemoryStore"), "{err}");
}

#[tokio::test]
async fn status_check_constraint_guards_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let job = store.create(NewJob::new("x", json!({}))).await.unwrap();
    let mut conn = raw_connection(&path);
    for bad in [
        "UPDATE jobs SET status = 'exploded'",
        "UPDATE jobs SET progress = 101",
        "UPDATE jobs SET params = 'not json'",
        "UPDATE jobs SET status = 'running'", // running without a lease
    ] {
        assert!(conn.batch_execute(bad).is_err(), "{bad} was accepted");
    }
    assert_eq!(store.get(job.id).await.unwrap().status, JobStatus::Pending);
}

#[tokio::test]
async fn a_database_made_by_an_older_release_is_upgraded_keeping_its_jobs() {
    use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
    const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    // The first release: only the jobs table, and a job in it.
    let mut conn = raw_connection(&path);
    conn.run_next_migration(MIGRATIONS).unwrap();
    let id = old_release::insert_job(&mut conn, "old", 1_000, None, 0);
    conn.batch_execute("UPDATE jobs SET params = '{\"kept\": true}'")
        .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).await.unwrap();
    let known = SqliteStore::known_migrations().unwrap();
    assert_eq!(store.applied_on_open(), &known[1..], "the newer migrations");
    assert_eq!(store.get(id).await.unwrap().params, json!({"kept": true}));
    let schedule = jobstore::cron::NewCronSchedule::new("after-upgrade", "old", "0 * * * *");
    store.declare_schedule(&schedule).await.unwrap();
    assert_eq!(store.count_by_type().await.unwrap()["old"].pending, 1);
}

#[tokio::test]
async fn an_enqueue_in_the_callers_transaction_answers_a_held_unique_key_with_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let unique = || {
        NewJob::new("receipt", json!({})).unique_key("order-42", jobstore::UniqueScope::WhileActive)
    };
    let mut conn = raw_connection(&path);
    let (first, second) = conn
        .transaction::<_, StoreError, _>(|conn| {
            let first = enqueue_in(conn, unique())?;
            let second = enqueue_in(conn, unique())?;
            Ok((first, second))
        })
        .unwrap();
    assert_eq!(first.id, second.id);
    // Once the holder has finished, the key goes to a new job.
    let claimed = store
        .claim(&jobstore::ClaimRequest::new("w", 1))
        .await
        .unwrap();
    store
        .complete(&claimed[0].lease, json!(null))
        .await
        .unwrap();
    let third = enqueue_in(&mut conn, unique()).unwrap();
    assert_ne!(third.id, first.id);
    assert_eq!(store.count_by_status().await.unwrap().total(), 2);
}

#[tokio::test]
async fn a_database_of_the_release_before_queues_is_upgraded_into_the_default_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let now = chrono::Utc::now().timestamp_millis();
    let mut conn = old_release::database(&path, old_release::BEFORE_QUEUES);
    let first = old_release::insert_job(&mut conn, "old", now - 2_000, None, 0);
    let second = old_release::insert_job(&mut conn, "old", now - 1_000, None, 0);
    let later = old_release::insert_job(&mut conn, "old", now + 3_600_000, None, 0);
    let running = old_release::insert_job(&mut conn, "old", now - 3_000, Some("rendering"), 1);
    drop(conn);

    let store = SqliteStore::open(&path).await.unwrap();
    let known = SqliteStore::known_migrations().unwrap();
    assert_eq!(
        store.applied_on_open(),
        &known[old_release::BEFORE_QUEUES..]
    );
    for id in [first, second, later, running] {
        let job = store.get(id).await.unwrap();
        assert_eq!(
            (job.queue.as_str(), job.priority, job.unique),
            ("default", 5, None)
        );
    }
    assert_eq!(
        store
            .queue_positions(&[first, second, later])
            .await
            .unwrap(),
        vec![Some(0), Some(1), None]
    );
    // The old worker's lease ran out long ago: rescued, back in line
    // without its stage.
    old_release::assert_running_job_counted_and_listed(&store, running, 3).await;
    assert_eq!(store.rescue_expired().await.unwrap().requeued, 1);
    let rescued = store.get(running).await.unwrap();
    assert_eq!((rescued.stage, rescued.progress), (None, None));
    let claimed = store
        .claim(&jobstore::ClaimRequest::new("new-worker", 10))
        .await
        .unwrap();
    let ids: Vec<JobId> = claimed.iter().map(|c| c.job.id).collect();
    assert_eq!(ids, vec![running, first, second]);
    let unique = NewJob::new("new", json!({})).unique_key("k", jobstore::UniqueScope::WhileActive);
    assert!(!store.enqueue(unique.clone()).await.unwrap().existing);
    assert!(store.enqueue(unique).await.unwrap().existing);
}

/// Every row of `jobs`, rowid and all 21 columns, as SQL literals.
fn dump_jobs(conn: &mut SqliteConnection) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        rows: String,
    }
    let columns = "rowid, id, job_type, status, stage, progress, params, result, error, \
         retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at, \
         cancel_requested, retry_of, correlation_id, created_at, updated_at, started_at, \
         completed_at";
    let quoted: Vec<String> = columns.split(", ").map(|c| format!("quote({c})")).collect();
    let sql = format!(
        "SELECT coalesce(group_concat({}, char(10)), '') AS rows \
         FROM (SELECT * , rowid FROM jobs ORDER BY rowid)",
        quoted.join(" || ',' || ")
    );
    diesel::sql_query(sql)
        .get_result::<Dump>(conn)
        .unwrap()
        .rows
}

#[tokio::test]
async fn rebuilding_the_jobs_table_for_its_status_check_keeps_every_row_as_it_was() {
    use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
    const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let mut conn = raw_connection(&path);
    // The schema before the rebuild: the first four migrations.
    for _ in 0..4 {
        conn.run_next_migration(MIGRATIONS).unwrap();
    }
    // A job in every state, with every optional column set somewhere, and
    // rowids with a gap.
    conn.batch_execute(
        "INSERT INTO jobs (rowid, id, job_type, status, stage, progress, params, result, error,
                           retry_count, max_attempts, attempt, run_at, locked_by, lease_expires_at,
                           cancel_requested, retry_of, correlation_id, created_at, updated_at,
                           started_at, completed_at) VALUES
         (3, '0190a000-0000-7000-8000-000000000001', 'email', 'pending', NULL, NULL, '{\"to\":\"a\"}',
          NULL, NULL, 0, 2, 0, 1700000000000, NULL, NULL, 0, NULL, 'batch-1', 1700000000000,
          1700000000000, NULL, NULL),
         (4, '0190a000-0000-7000-8000-000000000002', 'encode', 'running', 'transcoding', 42.5, '{}',
          NULL, NULL, 1, 3, 2, 1700000000001, 'worker-1', 1700000030000, 1, NULL, NULL,
          1700000000001, 1700000000500, 1700000000400, NULL),
         (9, '0190a000-0000-7000-8000-000000000003', 'email', 'completed', 'sent', NULL, '{}',
          '{\"ok\":true}', NULL, 0, 2, 1, 1700000000002, NULL, NULL, 0, NULL, NULL,
          1700000000002, 1700000000900, 1700000000800, 1700000000900),
         (10, '0190a000-0000-7000-8000-000000000004', 'email', 'failed', NULL, NULL, '[1,2]',
          NULL, 'boom: it broke', 1, 2, 2, 1700000000003, NULL, NULL, 0,
          '0190a000-0000-7000-8000-000000000009', NULL, 1700000000003, 1700000000999,
          1700000000950, 1700000000999),
         (11, '0190a000-0000-7000-8000-000000000005', 'report', 'cancelled', NULL, NULL, '{}',
          NULL, 'cancelled by an operator', 0, 1, 0, 1800000000000, NULL, NULL, 1, NULL,
          'cron:nightly', 1700000000004, 1700000001000, NULL, 1700000001000);",
    )
    .unwrap();
    let before = dump_jobs(&mut conn);
    assert_eq!(before.lines().count(), 5, "{before}");
    drop(conn);

    let store = SqliteStore::open(&path).await.unwrap();
    let known = SqliteStore::known_migrations().unwrap();
    assert_eq!(store.applied_on_open(), &known[4..], "the rebuild");
    let mut conn = raw_connection(&path);
    assert_eq!(dump_jobs(&mut conn), before);
    // The constraint still refuses what it refused, and nothing changed.
    assert!(conn
        .batch_execute("UPDATE jobs SET status = 'exploded' WHERE rowid = 3")
        .is_err());
    assert_eq!(dump_jobs(&mut conn), before);
    // The indexes came back: the claim takes the pending job.
    let claimed = store
        .claim(&jobstore::ClaimRequest::new("w", 5))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.job_type, "email");
}

/// A store on a fresh file in `dir`, with `checkpoint_interval`, after 20
/// single-job commits: far below the 1,000 pages of log after which a
/// commit itself would checkpoint.
async fn store_after_twenty_commits(
    dir: &tempfile::TempDir,
    checkpoint_interval: Option<Duration>,
) -> (std::path::PathBuf, SqliteStore) {
    let path = dir.path().join("jobs.db");
    let config = jobstore::SqliteConfig::new(&path).checkpoint_interval(checkpoint_interval);
    let store = SqliteStore::open_with(config).await.unwrap();
    for n in 0..20 {
        store
            .create(NewJob::new("email", json!({ "n": n })))
            .await
            .unwrap();
    }
    (path, store)
}

#[tokio::test]
async fn the_store_checkpoints_the_log_on_a_thread_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store) = store_after_twenty_commits(&dir, Some(Duration::from_millis(20))).await;
    let (frames, backfilled) = common::poll(Duration::from_secs(10), "a checkpoint", || {
        let (frames, backfilled) = common::wal_frames(&path);
        (frames > 0 && backfilled == frames).then_some((frames, backfilled))
    });
    assert!(
        frames < 1_000,
        "{frames} frames: a commit could have checkpointed"
    );
    assert_eq!(backfilled, frames);
    assert_eq!(store.count_by_status().await.unwrap().pending, 20);
}

#[tokio::test]
async fn without_a_checkpoint_interval_small_commits_leave_the_log_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _store) = store_after_twenty_commits(&dir, None).await;
    let (frames, backfilled) = common::wal_frames(&path);
    assert!(frames > 0);
    assert_eq!(
        backfilled, 0,
        "nothing checkpoints below 1,000 pages of log"
    );
}

#[test]
fn a_store_that_outlives_its_runtime_closes_cleanly_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        store.create(NewJob::new("kept", json!({}))).await.unwrap();
        store
    });
    drop(runtime);
    // No runtime runs here: the pooled connections still close (they used
    // to panic, asking tokio for a blocking thread), all before the
    // checkpoint thread's, the last, which removes the log files.
    drop(store);
    assert!(!dir.path().join("jobs.db-wal").exists(), "the log is left");
    assert!(
        !dir.path().join("jobs.db-shm").exists(),
        "the shared index is left"
    );
    let reopened = tokio::runtime::Runtime::new().unwrap();
    reopened.block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.count_by_type().await.unwrap()["kept"].pending, 1);
    });
}
