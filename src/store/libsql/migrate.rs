//! Applying the files of `migrations/` through libSQL, recorded in Diesel's
//! own `__diesel_schema_migrations` table with Diesel's version strings, so
//! either backend opens a database the other created.

use std::collections::BTreeSet;

use include_dir::{include_dir, Dir};
use libsql::{Connection, TransactionBehavior};

use super::db_error;
use crate::error::{StoreError, StoreResult};

/// The same folder Diesel embeds, embedded at build time.
static MIGRATIONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/migrations");

/// Diesel's bookkeeping table, as Diesel creates it.
pub(crate) const DIESEL_MIGRATIONS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
    version VARCHAR(50) PRIMARY KEY NOT NULL,
    run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)";

/// One embedded migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migration {
    /// Diesel's version: the folder name up to the first `_`, without `-`.
    pub version: String,
    /// The folder name.
    pub name: String,
    /// `up.sql`.
    pub up: &'static str,
}

/// Every embedded migration, oldest first.
pub(crate) fn embedded() -> StoreResult<Vec<Migration>> {
    let mut migrations = MIGRATIONS
        .dirs()
        .map(|dir| {
            let name = dir
                .path()
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| StoreError::migration("a migration folder name is not UTF-8"))?
                .to_string();
            let up = dir
                .get_file(dir.path().join("up.sql"))
                .and_then(|f| f.contents_utf8())
                .ok_or_else(|| StoreError::migration(format!("{name} has no UTF-8 up.sql")))?;
            let version = name.split('_').next().unwrap_or_default().replace('-', "");
            Ok(Migration { version, name, up })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    migrations.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(migrations)
}

/// The migrations of `known` not yet `applied`, oldest first; refuses a
/// database holding a migration this binary does not know.
pub(crate) fn pending<'m>(
    known: &'m [Migration],
    applied: &BTreeSet<String>,
) -> StoreResult<Vec<&'m Migration>> {
    let known_versions: BTreeSet<&str> = known.iter().map(|m| m.version.as_str()).collect();
    if let Some(unknown) = applied
        .iter()
        .filter(|v| !known_versions.contains(v.as_str()))
        .max()
    {
        return Err(StoreError::SchemaTooNew {
            database: unknown.clone(),
            binary: known.last().map(|m| m.version.clone()).unwrap_or_default(),
        });
    }
    Ok(known
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect())
}

/// Records a migration as applied, as Diesel does.
pub(crate) const RECORD_MIGRATION: &str =
    "INSERT INTO __diesel_schema_migrations (version) VALUES (?1)";

/// Reads the versions Diesel's table records.
pub(crate) const APPLIED_VERSIONS: &str = "SELECT version FROM __diesel_schema_migrations";

/// Applies pending migrations in one immediate transaction and returns the
/// names of those applied; refuses a database holding a migration this
/// binary does not know.
pub(crate) async fn run(conn: &Connection) -> StoreResult<Vec<String>> {
    let known = embedded()?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .await
        .map_err(db_error)?;
    let result = apply(&tx, &known).await;
    match result {
        Ok(ran) => {
            tx.commit().await.map_err(db_error)?;
            Ok(ran)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

async fn apply(conn: &Connection, known: &[Migration]) -> StoreResult<Vec<String>> {
    conn.execute(DIESEL_MIGRATIONS_TABLE, ())
        .await
        .map_err(db_error)?;
    let mut applied = BTreeSet::new();
    {
        let mut rows = conn.query(APPLIED_VERSIONS, ()).await.map_err(db_error)?;
        while let Some(row) = rows.next().await.map_err(db_error)? {
            match row.get_value(0).map_err(db_error)? {
                libsql::Value::Text(version) => applied.insert(version),
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "a migration version is not text: {other:?}"
                    )))
                }
            };
        }
    }
    let mut ran = Vec::new();
    for migration in pending(known, &applied)? {
        conn.execute_batch(migration.up)
            .await
            .map_err(|e| StoreError::migration(format!("{}: {e}", migration.name)))?;
        conn.execute(RECORD_MIGRATION, [migration.version.as_str()])
            .await
            .map_err(db_error)?;
        ran.push(migration.name.clone());
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_what_diesel_embeds_with_the_same_versions() {
        let ours: Vec<(String, String)> = embedded()
            .unwrap()
            .into_iter()
            .map(|m| (m.version, m.name))
            .collect();
        let diesels = crate::store::sqlite::migrate::known().unwrap();
        assert_eq!(ours, diesels);
        assert!(!ours.is_empty());
    }
}
