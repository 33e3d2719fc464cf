//! The monitor's own Diesel connection (see
//! [`Monitor`](crate::store::sql::monitor::Monitor)).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::connection::configure;
use crate::error::{StoreError, StoreResult};
use crate::store::sql::monitor::MonitorConnection;

/// A connection of the monitor's own to the file at `path`.
pub(crate) struct DieselMonitorConnection(SqliteConnection);

/// Opens the monitor's connection to `path`.
pub(crate) fn open(path: &str, busy_timeout: Duration) -> StoreResult<DieselMonitorConnection> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| StoreError::database(format!("cannot open the monitor's connection: {e}")))?;
    configure(&mut conn, busy_timeout, None)?;
    Ok(DieselMonitorConnection(conn))
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = BigInt)]
    data_version: i64,
}

impl MonitorConnection for DieselMonitorConnection {
    fn checkpoint(&mut self) -> Result<(), String> {
        self.0
            .batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
            .map_err(|e| e.to_string())
    }

    fn data_version(&mut self) -> Result<i64, String> {
        diesel::sql_query("PRAGMA data_version")
            .get_result::<DataVersion>(&mut self.0)
            .map(|v| v.data_version)
            .map_err(|e| e.to_string())
    }
}
