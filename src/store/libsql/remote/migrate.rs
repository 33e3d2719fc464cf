//! Applying the embedded migrations on a libSQL server, as the local
//! backend does: in one immediate transaction, recorded in Diesel's table.
//!
//! Which migrations to apply depends on what the database records, so
//! applying them is the one exchange with the server that keeps a
//! transaction open across requests (a stream of the protocol, named by its
//! baton). A server holding such a transaction makes every other writer
//! wait (and sqld 0.24 was seen to stop taking writes for good when
//! interactive transactions met many concurrent writers), so the recorded
//! versions are first read on their own: a database that is up to date,
//! as it is for every worker but the first, is never locked.

use std::collections::BTreeSet;

use libsql_hrana::proto::{Stmt, StreamRequest};

use super::hrana::{self, HranaClient, HranaError};
use crate::error::{StoreError, StoreResult};
use crate::store::libsql::migrate::{
    embedded, pending, APPLIED_VERSIONS, DIESEL_MIGRATIONS_TABLE, RECORD_MIGRATION,
};

/// Applies pending migrations and returns the names of those applied.
pub(crate) async fn run(client: &HranaClient, location: &str) -> StoreResult<Vec<String>> {
    let known = embedded()?;
    let transport = |e: HranaError| e.into_store_error(location);
    if let Some(applied) = recorded(client).await.map_err(transport)? {
        if pending(&known, &applied)?.is_empty() {
            return Ok(Vec::new());
        }
    }
    let (baton, mut results) = client
        .pipeline(
            None,
            vec![
                hrana::execute("BEGIN IMMEDIATE", false),
                hrana::execute(DIESEL_MIGRATIONS_TABLE, false),
                hrana::execute(APPLIED_VERSIONS, true),
            ],
        )
        .await
        .map_err(transport)?;
    let versions = results.pop();
    let mut stream = Stream {
        client,
        baton,
        location,
    };
    let outcome = async {
        for result in results {
            hrana::response(result).map_err(transport)?;
        }
        let versions =
            versions.ok_or_else(|| StoreError::database("no answer for the applied migrations"))?;
        let mut applied = BTreeSet::new();
        for row in hrana::execute_result(versions).map_err(transport)?.rows {
            match row.values.first() {
                Some(libsql_hrana::proto::Value::Text { value }) => {
                    applied.insert(value.to_string());
                }
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "a migration version is not text: {other:?}"
                    )))
                }
            }
        }
        let mut ran = Vec::new();
        for migration in pending(&known, &applied)? {
            stream
                .send(hrana::sequence(migration.up))
                .await
                .map_err(|e| StoreError::migration(format!("{}: {e}", migration.name)))?;
            let mut record = Stmt::new(RECORD_MIGRATION, false);
            record.bind(libsql_hrana::proto::Value::Text {
                value: migration.version.as_str().into(),
            });
            stream
                .send(StreamRequest::Execute(
                    libsql_hrana::proto::ExecuteStreamReq { stmt: record },
                ))
                .await
                .map_err(transport)?;
            ran.push(migration.name.clone());
        }
        Ok(ran)
    }
    .await;
    match outcome {
        Ok(ran) => {
            stream
                .finish("COMMIT")
                .await
                .map_err(|e| e.into_store_error(location))?;
            Ok(ran)
        }
        Err(error) => {
            if let Err(rollback) = stream.finish("ROLLBACK").await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

/// The versions Diesel's table records, read without a transaction;
/// `None` when the table does not exist yet.
async fn recorded(client: &HranaClient) -> Result<Option<BTreeSet<String>>, HranaError> {
    let (_, mut results) = client
        .pipeline(
            None,
            vec![hrana::execute(APPLIED_VERSIONS, true), hrana::close()],
        )
        .await?;
    let rows = match hrana::execute_result(results.swap_remove(0)) {
        Ok(result) => result.rows,
        Err(HranaError::Sql { message, .. }) if message.contains("no such table") => {
            return Ok(None)
        }
        Err(error) => return Err(error),
    };
    let mut applied = BTreeSet::new();
    for row in rows {
        if let Some(libsql_hrana::proto::Value::Text { value }) = row.values.first() {
            applied.insert(value.to_string());
        }
    }
    Ok(Some(applied))
}

/// An open stream of the protocol.
struct Stream<'c> {
    client: &'c HranaClient,
    baton: Option<String>,
    location: &'c str,
}

impl Stream<'_> {
    /// Sends one request on the stream and returns its result.
    async fn send(&mut self, request: StreamRequest) -> Result<(), HranaError> {
        if self.baton.is_none() {
            return Err(HranaError::Protocol(format!(
                "{} closed the migration's stream",
                self.location
            )));
        }
        let (baton, mut results) = self
            .client
            .pipeline(self.baton.take(), vec![request])
            .await?;
        self.baton = baton;
        hrana::response(results.swap_remove(0)).map(|_| ())
    }

    /// Ends the transaction with `sql` (`COMMIT` or `ROLLBACK`) and closes
    /// the stream.
    async fn finish(&mut self, sql: &str) -> Result<(), HranaError> {
        let Some(baton) = self.baton.take() else {
            return Err(HranaError::Protocol(format!(
                "{} closed the migration's stream",
                self.location
            )));
        };
        let (_, mut results) = self
            .client
            .pipeline(
                Some(baton),
                vec![hrana::execute(sql, false), hrana::close()],
            )
            .await?;
        hrana::response(results.swap_remove(0)).map(|_| ())
    }
}
