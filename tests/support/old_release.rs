//! Databases as earlier releases left them: the first N migrations, and
//! jobs written with only the columns those releases had.

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use jobstore::JobId;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How many migrations the release before named queues had.
pub const BEFORE_QUEUES: usize = 4;

/// A database at `path` with the first `migrations` migrations applied.
pub fn database(path: &std::path::Path, migrations: usize) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
    for _ in 0..migrations {
        conn.run_next_migration(MIGRATIONS).unwrap();
    }
    conn
}

/// Writes a job with the columns every release has had, as those releases
/// did (times in milliseconds): pending unless `running_stage` is given,
/// then running with that stage at 83% and a lease until `lease_until`.
pub fn insert_job(
    conn: &mut SqliteConnection,
    job_type: &str,
    run_at_ms: i64,
    running_stage: Option<&str>,
    lease_until_ms: i64,
) -> JobId {
    let created = chrono::DateTime::from_timestamp_millis(run_at_ms.min(1_800_000_000_000))
        .unwrap_or_default();
    let id = JobId::new_at(created);
    let (status, stage, progress, locked_by, lease, attempt) = match running_stage {
        Some(stage) => (
            "running",
            format!("'{stage}'"),
            "83".to_string(),
            "'old-worker'".to_string(),
            lease_until_ms.to_string(),
            1,
        ),
        None => (
            "pending",
            "NULL".into(),
            "NULL".into(),
            "NULL".into(),
            "NULL".into(),
            0,
        ),
    };
    conn.batch_execute(&format!(
        "INSERT INTO jobs (id, job_type, status, stage, progress, params, retry_count, \
         max_attempts, attempt, run_at, locked_by, lease_expires_at, cancel_requested, \
         created_at, updated_at) VALUES ('{id}', '{job_type}', '{status}', {stage}, {progress}, \
         '{{}}', 0, 3, {attempt}, {run_at_ms}, {locked_by}, {lease}, 0, {run_at_ms}, {run_at_ms})"
    ))
    .unwrap();
    id
}

/// An upgraded database still counts and lists its one running job (of
/// type `old`, beside `pending` pending ones): the status indexes made
/// anew leave running jobs out, and they are found on the reaper index.
pub async fn assert_running_job_counted_and_listed(
    store: &dyn jobstore::JobStore,
    running: JobId,
    pending: u64,
) {
    let counts = store.count_by_type().await.unwrap();
    assert_eq!((counts["old"].pending, counts["old"].running), (pending, 1));
    let listed = store
        .list(&jobstore::ListQuery::default().status(jobstore::JobStatus::Running))
        .await
        .unwrap();
    let ids: Vec<JobId> = listed.jobs.iter().map(|job| job.id).collect();
    assert_eq!(ids, vec![running]);
}
