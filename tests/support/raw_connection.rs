//! A plain Diesel connection to a test's database file.

use diesel::{connection::SimpleConnection, Connection, SqliteConnection};
use std::path::Path;

/// A plain Diesel connection, as a user's own code would open one; it waits
/// for locks like any well-behaved SQLite client. A store closing in the
/// background (its last connection checkpoints the write-ahead log and
/// holds the file's lock meanwhile) is then waited for, not an error.
pub fn raw_connection(path: &Path) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
    conn
}
