//! The monitor's own connection to a local libSQL file (see
//! [`Monitor`](crate::store::sql::monitor::Monitor)).

use std::time::Duration;

use libsql::{Connection, Database};

use super::db_error;
use crate::error::{StoreError, StoreResult};
use crate::store::sql::monitor::MonitorConnection;

/// A libSQL connection of the monitor's own, and the small runtime its
/// calls (async in libSQL's API, immediate on a local file) run on.
pub(crate) struct LibsqlMonitorConnection {
    conn: Connection,
    runtime: tokio::runtime::Runtime,
}

/// Opens the monitor's connection to `db`.
pub(crate) fn open(db: &Database, busy_timeout: Duration) -> StoreResult<LibsqlMonitorConnection> {
    let conn = db.connect().map_err(db_error)?;
    conn.busy_timeout(busy_timeout).map_err(db_error)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| StoreError::database(format!("cannot start the monitor's runtime: {e}")))?;
    Ok(LibsqlMonitorConnection { conn, runtime })
}

impl LibsqlMonitorConnection {
    /// The first column of the first row `sql` returns, as an integer.
    fn integer(&self, sql: &str) -> Result<i64, String> {
        let conn = &self.conn;
        self.runtime.block_on(async {
            let mut rows = conn.query(sql, ()).await.map_err(|e| e.to_string())?;
            let row = rows
                .next()
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{sql} returned nothing"))?;
            let value = row.get::<i64>(0).map_err(|e| e.to_string())?;
            while rows.next().await.map_err(|e| e.to_string())?.is_some() {}
            Ok(value)
        })
    }
}

impl MonitorConnection for LibsqlMonitorConnection {
    fn data_version(&mut self) -> Result<i64, String> {
        self.integer("PRAGMA data_version")
    }

    fn checkpoint(&mut self) -> Result<(), String> {
        let conn = &self.conn;
        self.runtime.block_on(async {
            let mut rows = conn
                .query("PRAGMA wal_checkpoint(PASSIVE)", ())
                .await
                .map_err(|e| e.to_string())?;
            while rows.next().await.map_err(|e| e.to_string())?.is_some() {}
            Ok(())
        })
    }
}
