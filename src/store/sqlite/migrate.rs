//! Applying the embedded migrations, and refusing a schema newer than the
//! binary.

use std::collections::BTreeSet;

use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{StoreError, StoreResult};

/// The files in `migrations/`, embedded at build time.
pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The versions (`20261122000000`) of every migration this binary carries,
/// oldest first, with their names (`2026-11-22-000000_create_jobs`).
pub(crate) fn known() -> StoreResult<Vec<(String, String)>> {
    let migrations = diesel::migration::MigrationSource::<Sqlite>::migrations(&MIGRATIONS)
        .map_err(StoreError::migration_from)?;
    let mut known: Vec<(String, String)> = migrations
        .iter()
        .map(|m| (m.name().version().to_string(), m.name().to_string()))
        .collect();
    known.sort();
    Ok(known)
}

/// Applies pending migrations inside one `BEGIN IMMEDIATE` transaction, so
/// processes opening a fresh database at once cannot race each other, and
/// returns the names of those applied.
///
/// Refuses a database that holds a migration this binary does not know.
pub(crate) fn run(conn: &mut SqliteConnection) -> StoreResult<Vec<String>> {
    conn.immediate_transaction(|conn| {
        let known = known()?;
        let applied = conn
            .applied_migrations()
            .map_err(StoreError::migration_from)?;
        let known_versions: BTreeSet<&str> = known.iter().map(|(v, _)| v.as_str()).collect();
        if let Some(unknown) = applied
            .iter()
            .map(|v| v.to_string())
            .filter(|v| !known_versions.contains(v.as_str()))
            .max()
        {
            return Err(StoreError::SchemaTooNew {
                database: unknown,
                binary: known.last().map(|(v, _)| v.clone()).unwrap_or_default(),
            });
        }
        let ran = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(StoreError::migration_from)?
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>();
        Ok(known
            .into_iter()
            .filter(|(version, _)| ran.contains(version))
            .map(|(_, name)| name)
            .collect())
    })
}
