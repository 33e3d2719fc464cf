//! deadpool-diesel's connection manager, without its round trip to the
//! blocking pool on every checkout.

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_diesel::sqlite::Manager;

/// Creates connections as deadpool-diesel's [`Manager`] does, and recycles
/// them without running anything on the connection.
///
/// deadpool-diesel checks a returned connection for a dangling transaction
/// on its blocking thread at the next checkout: a hop to the blocking pool
/// and back (40–55 µs here) before every operation, however trivial the
/// check. The store makes the same check right after each operation, on the
/// thread that ran it, and discards a connection that fails it
/// (`SqliteStore::with_conn`); this manager only refuses connections whose
/// lock was poisoned by a panic.
pub(crate) struct LocalFileManager(pub(crate) Manager);

impl managed::Manager for LocalFileManager {
    type Type = <Manager as managed::Manager>::Type;
    type Error = <Manager as managed::Manager>::Error;

    async fn create(&self) -> Result<Self::Type, Self::Error> {
        self.0.create().await
    }

    async fn recycle(&self, conn: &mut Self::Type, _: &Metrics) -> RecycleResult<Self::Error> {
        if conn.is_mutex_poisoned() {
            return Err(RecycleError::message(
                "a panic poisoned the connection's lock",
            ));
        }
        Ok(())
    }
}

/// The store's pool of connections.
pub(crate) type Pool = managed::Pool<LocalFileManager>;

/// A connection checked out of the [`Pool`].
pub(crate) type Connection = managed::Object<LocalFileManager>;

#[cfg(test)]
mod tests {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    use crate::store::sqlite::{SqliteConfig, SqliteStore};
    use crate::{JobStore, NewJob, StoreError};

    /// A store with a single pooled connection, so the connection an
    /// operation spoiled is the one the next operation would get.
    async fn one_connection_store(dir: &tempfile::TempDir) -> SqliteStore {
        let config = SqliteConfig::new(dir.path().join("jobs.db")).max_connections(1);
        SqliteStore::open_with(config).await.unwrap()
    }

    /// Jobs in the file, as a connection of its own reads them.
    fn jobs_in_file(dir: &tempfile::TempDir) -> i64 {
        let path = dir.path().join("jobs.db");
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM jobs)",
        ))
        .get_result(&mut conn)
        .unwrap()
    }

    // Each check runs on both kinds of runtime: a multi-threaded one runs
    // operations in place, a current-thread one on the blocking pool.

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_left_inside_a_transaction_is_not_used_again() {
        dangling_transaction_is_not_reused().await;
    }

    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_is_not_used_again_on_one_thread() {
        dangling_transaction_is_not_reused().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_whose_operation_panicked_is_replaced() {
        panicked_connection_is_replaced().await;
    }

    #[tokio::test]
    async fn a_connection_whose_operation_panicked_is_replaced_on_one_thread() {
        panicked_connection_is_replaced().await;
    }

    async fn dangling_transaction_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = one_connection_store(&dir).await;
        store
            .with_conn(|conn| Ok(AnsiTransactionManager::begin_transaction(conn)?))
            .await
            .unwrap();
        // On the same connection this write would be a savepoint inside the
        // dangling transaction: invisible to everyone else, and holding the
        // database's write lock.
        store
            .create(NewJob::new("email", serde_json::json!({})))
            .await
            .unwrap();
        assert_eq!(jobs_in_file(&dir), 1);
    }

    async fn panicked_connection_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = one_connection_store(&dir).await;
        let panicked = store
            .with_conn(|_| -> Result<(), StoreError> { panic!("a bug in an operation") })
            .await;
        assert!(
            matches!(&panicked, Err(StoreError::Database { message, .. }) if message.contains("connection task failed")),
            "{panicked:?}"
        );
        store
            .create(NewJob::new("email", serde_json::json!({})))
            .await
            .unwrap();
        assert_eq!(jobs_in_file(&dir), 1);
    }
}
