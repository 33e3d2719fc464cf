//! Reusing connections to a local libSQL file.
//!
//! Opening a connection per operation is costly on a local file: each
//! open reads the schema again, and when the last connection closes SQLite
//! checkpoints the write-ahead log into the database and deletes it, which
//! syncs the disk two or three times. Connections are therefore kept once
//! used and lent again; one that still has a transaction open (its
//! operation was abandoned half-way) is closed instead, which rolls it
//! back.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use libsql::Connection;

use super::statements::StatementCache;

/// The most idle connections kept.
const MAX_IDLE: usize = 8;

/// A connection and the statements it keeps prepared.
pub(crate) struct Kept {
    conn: Connection,
    statements: StatementCache,
}

impl Kept {
    /// A connection with no statement prepared yet.
    pub(crate) fn new(conn: Connection) -> Self {
        Kept {
            conn,
            statements: StatementCache::default(),
        }
    }
}

/// Idle connections, most recently used last.
#[derive(Default)]
pub(crate) struct IdleConnections(Mutex<Vec<Kept>>);

impl IdleConnections {
    /// The most recently returned connection, if any (its page cache is
    /// the likeliest to be current).
    pub(crate) fn take(&self) -> Option<Kept> {
        self.0.lock().ok()?.pop()
    }

    fn give_back(&self, conn: Kept) {
        if let Ok(mut idle) = self.0.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

/// A connection lent for one operation, given back when dropped.
pub(crate) struct Lent {
    conn: Connection,
    statements: StatementCache,
    home: Option<Arc<IdleConnections>>,
}

impl Lent {
    /// `kept`, given back to `home` when done (never, for `None`).
    pub(crate) fn new(kept: Kept, home: Option<Arc<IdleConnections>>) -> Self {
        Lent {
            conn: kept.conn,
            statements: kept.statements,
            home,
        }
    }

    /// The connection and its prepared statements.
    pub(crate) fn parts(&mut self) -> (&Connection, &mut StatementCache) {
        (&self.conn, &mut self.statements)
    }
}

impl Deref for Lent {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            if self.conn.is_autocommit() {
                home.give_back(Kept {
                    conn: self.conn.clone(),
                    statements: std::mem::take(&mut self.statements),
                });
            }
        }
    }
}
