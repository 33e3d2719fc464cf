//! The jobstore backends the bench measures, each on a file.

use std::path::Path;
use std::sync::Arc;

use diesel::sql_types::{BigInt, Nullable};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use jobstore::{JobStore, LibsqlConfig, LibsqlStore, SqliteConfig, SqliteStore};

/// A backend on a local file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Diesel on SQLite (the default).
    Sqlite,
    /// libSQL on a local file.
    Libsql,
}

impl Backend {
    /// Every backend measured.
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Libsql];

    /// The name in tables and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Libsql => "libsql",
        }
    }

    /// The backend named `name`.
    pub fn parse(name: &str) -> Result<Backend, String> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| format!("unknown backend {name:?}: sqlite or libsql"))
    }

    /// Opens (creating) the store at `path`.
    pub async fn open(self, path: &Path) -> Result<Arc<dyn JobStore>, jobstore::StoreError> {
        self.open_watching(path, true).await
    }

    /// Opens (creating) the store at `path`, its file watched for commits
    /// or not (then only polled for them).
    pub async fn open_watching(
        self,
        path: &Path,
        watch: bool,
    ) -> Result<Arc<dyn JobStore>, jobstore::StoreError> {
        Ok(match self {
            Backend::Sqlite => Arc::new(
                SqliteStore::open_with(SqliteConfig::new(path).watch_changes(watch)).await?,
            ),
            Backend::Libsql => Arc::new(
                LibsqlStore::open_with(LibsqlConfig::local(path).watch_changes(watch)).await?,
            ),
        })
    }
}

#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = Nullable<BigInt>)]
    first_claim: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_completion: Option<i64>,
}

/// Milliseconds from the first claim to the last completion recorded in the
/// file (both backends write the same schema), read once the run is over.
pub fn claim_to_completion_ms(path: &Path) -> Result<i64, String> {
    let url = path.to_str().ok_or("the path is not UTF-8")?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    // The store's last connections may still be closing (and checkpointing).
    diesel::sql_query("PRAGMA busy_timeout = 30000")
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    let span: Span = diesel::sql_query(
        "SELECT MIN(started_at) AS first_claim, MAX(completed_at) AS last_completion FROM jobs",
    )
    .get_result(&mut conn)
    .map_err(|e| e.to_string())?;
    match (span.first_claim, span.last_completion) {
        (Some(first), Some(last)) => Ok((last - first).max(1)),
        _ => Err("no job was claimed and completed".into()),
    }
}

/// Copies the write-ahead log of the database at `path` into the file and
/// empties it, so what is measured next does not pay for what came before.
pub fn checkpoint(path: &Path) -> Result<(), String> {
    let url = path.to_str().ok_or("the path is not UTF-8")?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query("PRAGMA busy_timeout = 30000")
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(())
}
