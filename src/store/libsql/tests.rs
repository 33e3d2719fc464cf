//! The connections the libSQL store opens to a local file: their settings,
//! and which ones write.

use super::{LibsqlExecutor, LibsqlStore};
use crate::store::sql::monitor::FALLBACK_AUTOCHECKPOINT;
use crate::store::JobStore;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_take_turns_on_one_connection_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        LibsqlStore::open_local(dir.path().join("jobs.db"))
            .await
            .unwrap(),
    );
    // Twenty writes at once, from tasks on two threads.
    let writes: Vec<_> = (0..20)
        .map(|n| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .create(crate::NewJob::new("t", serde_json::json!(n)))
                    .await
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap().unwrap();
    }
    let LibsqlExecutor::Local(local) = &**store.sql.executor() else {
        panic!("a local store");
    };
    // One writing connection was ever kept, and it made every change.
    let writing = local.writing.take().expect("a kept writing connection");
    assert!(local.writing.take().is_none(), "two writing connections");
    let writing = super::idle::Lent::new(writing, None);
    assert_eq!(writing.total_changes(), 20);
}
