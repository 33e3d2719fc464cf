//! The monitor's own Diesel connection (see
//! [`Monitor`](crate::store::sql::monitor::Monitor)).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};

use super::connection::configure;
use super::dynamic::{BySql, DynRow, Dynamic};
use crate::error::{StoreError, StoreResult};
use crate::store::sql::monitor::MonitorConnection;
use crate::store::sql::Statement;

/// A connection of the monitor's own to the file at `path`.
pub(crate) struct DieselMonitorConnection(SqliteConnection);

/// Opens the monitor's connection to `path`.
pub(crate) fn open(path: &str, busy_timeout: Duration) -> StoreResult<DieselMonitorConnection> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| StoreError::database(format!("cannot open the monitor's connection: {e}")))?;
    configure(&mut conn, busy_timeout, None)?;
    Ok(DieselMonitorConnection(conn))
}

impl MonitorConnection for DieselMonitorConnection {
    fn checkpoint(&mut self) -> Result<(), String> {
        self.0
            .batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
            .map_err(|e| e.to_string())
    }

    /// Read through Diesel's statement cache: the monitor looks after
    /// every burst of commits, and `sql_query` would prepare the pragma
    /// again at each look.
    fn data_version(&mut self) -> Result<i64, String> {
        let statement = Statement::query("PRAGMA data_version", Vec::new());
        let row = Dynamic::<BySql>::new(&statement)
            .get_result::<DynRow>(&mut self.0)
            .map_err(|e| e.to_string())?;
        row.0.int(0).map_err(|e| e.to_string())
    }
}
