//! Prepared statements kept with a local connection.
//!
//! libSQL compiles a statement's SQL every time it is run through the
//! connection (`Connection::execute`, `Connection::query`); for the
//! worker's exchange of completions and claims, compiling was 40% of the
//! time of a round on a local file. A connection therefore keeps the
//! statements it ran, keyed by their SQL, and runs them again after a
//! reset, as the Diesel backend's statement cache does. The statements a
//! store builds differ only in how many rows they name, so a small cache
//! holds every shape in use; the least recently used is dropped past
//! [`CAPACITY`]. (A few lines here instead of an LRU crate: the cache is
//! tiny and is only ever touched by the one operation holding its
//! connection.)

use std::collections::HashMap;

use libsql::{Connection, Statement};

/// The most statements one connection keeps prepared.
const CAPACITY: usize = 64;

/// A connection's prepared statements, by SQL.
#[derive(Default)]
pub(crate) struct StatementCache {
    statements: HashMap<String, Kept>,
    /// Counts uses, to find the least recently used statement.
    clock: u64,
}

struct Kept {
    statement: Statement,
    last_used: u64,
}

impl StatementCache {
    /// The statement for `sql` on `conn`, reset and ready to bind: the one
    /// kept from an earlier run, or a newly prepared one, kept from now on.
    pub(crate) async fn statement(
        &mut self,
        conn: &Connection,
        sql: &str,
    ) -> libsql::Result<&Statement> {
        self.clock += 1;
        let now = self.clock;
        if !self.statements.contains_key(sql) {
            let statement = conn.prepare(sql).await?;
            if self.statements.len() >= CAPACITY {
                self.evict_oldest();
            }
            self.statements.insert(
                sql.to_owned(),
                Kept {
                    statement,
                    last_used: now,
                },
            );
        }
        match self.statements.get_mut(sql) {
            Some(kept) => {
                kept.last_used = now;
                kept.statement.reset();
                Ok(&kept.statement)
            }
            None => Err(libsql::Error::Misuse(format!(
                "a prepared statement vanished from the cache: {sql}"
            ))),
        }
    }

    /// Drops the statement for `sql`, if kept (after it failed: a
    /// statement is prepared afresh rather than trusted again).
    pub(crate) fn forget(&mut self, sql: &str) {
        self.statements.remove(sql);
    }

    /// How many statements are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.statements.len()
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .statements
            .iter()
            .min_by_key(|(_, kept)| kept.last_used)
            .map(|(sql, _)| sql.clone());
        if let Some(sql) = oldest {
            self.statements.remove(&sql);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn connection() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: see `open_local_file`: the engine is compiled thread-safe.
        let builder =
            unsafe { libsql::Builder::new_local(dir.path().join("t.db")).skip_safety_assert(true) };
        let conn = builder.build().await.unwrap().connect().unwrap();
        conn.execute("CREATE TABLE t (n INTEGER)", ())
            .await
            .unwrap();
        (dir, conn)
    }

    #[tokio::test]
    async fn a_statement_runs_again_from_the_cache_with_new_parameters() {
        let (_dir, conn) = connection().await;
        let mut cache = StatementCache::default();
        for n in 1..=3 {
            let insert = cache
                .statement(&conn, "INSERT INTO t (n) VALUES (?)")
                .await
                .unwrap();
            insert.execute([n]).await.unwrap();
        }
        let sum = cache
            .statement(&conn, "SELECT sum(n) FROM t WHERE n >= ?")
            .await
            .unwrap();
        let mut rows = sum.query([2]).await.unwrap();
        let total: i64 = rows.next().await.unwrap().unwrap().get(0).unwrap();
        assert_eq!(total, 5);
        drop(rows);
        // Read half-way, then asked again: it starts over.
        let sum = cache
            .statement(&conn, "SELECT sum(n) FROM t WHERE n >= ?")
            .await
            .unwrap();
        let mut rows = sum.query([1]).await.unwrap();
        let total: i64 = rows.next().await.unwrap().unwrap().get(0).unwrap();
        assert_eq!(total, 6);
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test]
    async fn the_least_recently_used_statement_goes_past_the_capacity() {
        let (_dir, conn) = connection().await;
        let mut cache = StatementCache::default();
        let first = "SELECT 0 FROM t";
        cache.statement(&conn, first).await.unwrap();
        for n in 1..CAPACITY {
            cache
                .statement(&conn, &format!("SELECT {n} FROM t"))
                .await
                .unwrap();
        }
        // Used again: now the most recent; the next new one evicts `SELECT 1`.
        cache.statement(&conn, first).await.unwrap();
        cache.statement(&conn, "SELECT 'new' FROM t").await.unwrap();
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.statements.contains_key(first));
        assert!(!cache.statements.contains_key("SELECT 1 FROM t"));
        cache.forget(first);
        assert_eq!(cache.len(), CAPACITY - 1);
    }

    #[tokio::test]
    async fn bad_sql_is_an_error_and_not_kept() {
        let (_dir, conn) = connection().await;
        let mut cache = StatementCache::default();
        assert!(cache.statement(&conn, "SELEKT 1").await.is_err());
        assert_eq!(cache.len(), 0);
    }
}
