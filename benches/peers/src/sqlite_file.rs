//! Facts about a database file, read after a run, and the one setting made
//! to a file before effectum opens it.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use rusqlite::Connection;

/// The version of the SQLite engine compiled into this program (the raw
/// baseline and effectum share it).
pub fn engine_version() -> &'static str {
    rusqlite::version()
}

/// The journal mode the file is in (`wal`, `delete`, ...).
///
/// WAL is recorded in the file itself, so a fresh connection reports what
/// the run's connections used; any other mode is per connection, and a
/// fresh connection reports SQLite's default, `delete`, which is also what
/// a connection that never set a mode used.
pub fn journal_mode(path: &Path) -> Result<String> {
    let conn = open(path)?;
    conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .context("cannot read the journal mode")
}

/// Creates the database file at `path` in WAL mode and closes it.
pub fn create_in_wal_mode(path: &Path) -> Result<()> {
    let conn = open(path)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .context("cannot set the journal mode")?;
    ensure!(
        mode == "wal",
        "SQLite kept journal mode {mode:?} instead of wal"
    );
    conn.close()
        .map_err(|(_, e)| e)
        .context("cannot close the database")
}

/// The single integer `sql` selects.
pub fn count(path: &Path, sql: &str) -> Result<usize> {
    let conn = open(path)?;
    let n: i64 = conn
        .query_row(sql, [], |row| row.get(0))
        .with_context(|| format!("cannot run {sql}"))?;
    Ok(usize::try_from(n)?)
}

fn open(path: &Path) -> Result<Connection> {
    Connection::open(path).with_context(|| format!("cannot open {}", path.display()))
}
