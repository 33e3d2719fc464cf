//! Connections set up as jobstore sets up its own, and jobstore's schema.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rusqlite::Connection;

/// The per-connection settings of jobstore's SQLite store
/// (`src/store/sqlite/connection.rs`, with the default busy timeout of
/// `SqliteConfig`): busy timeout first, so the others wait for a lock
/// instead of failing; on a new file, incremental auto-vacuum (set before
/// the first table, as jobstore does); then WAL, `synchronous = NORMAL` and
/// foreign keys.
const BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 30000";
const NEW_FILE_PRAGMA: &str = "PRAGMA auto_vacuum = INCREMENTAL";
const JOBSTORE_PRAGMAS: [&str; 3] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
];

/// A connection to `path` with jobstore's settings.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    run_pragma(&conn, BUSY_TIMEOUT).with_context(|| format!("{BUSY_TIMEOUT} failed"))?;
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |row| row.get(0))?;
    if pages == 0 {
        run_pragma(&conn, NEW_FILE_PRAGMA).with_context(|| format!("{NEW_FILE_PRAGMA} failed"))?;
    }
    for pragma in JOBSTORE_PRAGMAS {
        run_pragma(&conn, pragma).with_context(|| format!("{pragma} failed"))?;
    }
    Ok(conn)
}

/// Runs `pragma`, reading and dropping whatever rows it answers with
/// (some answer with the new value; rusqlite's `execute` refuses rows, so
/// this reads them as Diesel's `batch_execute` silently does).
fn run_pragma(conn: &Connection, pragma: &str) -> Result<()> {
    let mut statement = conn.prepare(pragma)?;
    let mut rows = statement.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Applies every migration in `dir`, in name order, by running its
/// `up.sql`: the tables and indexes are exactly jobstore's.
pub fn migrate(conn: &Connection, dir: &Path) -> Result<()> {
    let migrations = migration_folders(dir)?;
    if migrations.is_empty() {
        bail!("{} holds no migration folders", dir.display());
    }
    for folder in migrations {
        let up = folder.join("up.sql");
        let sql =
            fs::read_to_string(&up).with_context(|| format!("cannot read {}", up.display()))?;
        conn.execute_batch(&sql)
            .with_context(|| format!("{} failed", up.display()))?;
    }
    Ok(())
}

/// The folders in `dir`, sorted by name (migration names start with their date).
fn migration_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut folders = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            folders.push(path);
        }
    }
    folders.sort();
    Ok(folders)
}
