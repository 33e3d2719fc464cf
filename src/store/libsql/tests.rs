//! Settings of the connections the libSQL store opens to a local file.

use super::{LibsqlExecutor, LibsqlStore};
use crate::store::sql::monitor::FALLBACK_AUTOCHECKPOINT;
use crate::LibsqlConfig;

/// `PRAGMA wal_autocheckpoint` as a connection of `store` reports it.
async fn autocheckpoint(store: &LibsqlStore) -> i64 {
    let LibsqlExecutor::Local(local) = &**store.sql.executor() else {
        panic!("a local store");
    };
    let conn = local.connect().await.unwrap();
    let mut rows = conn.query("PRAGMA wal_autocheckpoint", ()).await.unwrap();
    rows.next().await.unwrap().unwrap().get(0).unwrap()
}

#[tokio::test]
async fn with_a_checkpoint_thread_commits_checkpoint_only_as_a_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let store = LibsqlStore::open_local(dir.path().join("jobs.db"))
        .await
        .unwrap();
    assert_eq!(
        autocheckpoint(&store).await,
        i64::from(FALLBACK_AUTOCHECKPOINT)
    );
}

#[tokio::test]
async fn without_one_commits_checkpoint_as_sqlite_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = LibsqlConfig::local(dir.path().join("jobs.db")).checkpoint_interval(None);
    let store = LibsqlStore::open_with(config).await.unwrap();
    assert_eq!(autocheckpoint(&store).await, 1_000);
}
