//! Running the shared statements' batches on a libSQL server: each batch is
//! one HTTP request, the protocol's `batch`, which the server runs in one
//! go, so its write lock is never held across a network round trip.

mod hrana;
pub(crate) mod migrate;
mod write_queue;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use libsql_hrana::proto::{self, BatchCond, BatchStep, Stmt};

use super::retry_busy;
use crate::error::{StoreError, StoreResult};
use crate::store::sql::{Batch, Executor, Output, Row, Statement, Value};

pub(crate) use hrana::{HranaClient, HranaError};
pub(crate) use write_queue::WriteQueue;

/// Runs batches against one libSQL server.
pub(crate) struct RemoteExecutor {
    pub(super) client: HranaClient,
    pub(super) busy_timeout: Duration,
    pub(super) operation_timeout: Duration,
    /// The server's URL, for messages.
    pub(super) location: String,
    /// This store's writes, one request at a time.
    pub(super) writes: WriteQueue,
}

impl RemoteExecutor {
    async fn run_once(&self, batch: &Batch) -> StoreResult<Vec<Output>> {
        let (steps, first) = steps(batch);
        let count = batch.statements.len();
        let sent = async {
            let request = proto::Batch {
                steps,
                replication_index: None,
            };
            let result = if batch.writes {
                self.writes.send(&self.client, request).await?
            } else {
                self.client.send_kept(request).await?
            };
            // Of the steps that matter (the transaction's and the
            // statements'), the first error is the batch's.
            let last = if first == 0 { count } else { count + 2 };
            if let Some(error) = result
                .step_errors
                .iter()
                .take(last)
                .flatten()
                .next()
                .cloned()
            {
                return Err(HranaError::Sql {
                    code: error.code,
                    message: error.message,
                });
            }
            Ok(result)
        };
        let result = sent.await.map_err(|e| e.into_store_error(&self.location))?;
        let mut outputs = Vec::with_capacity(count);
        for index in first..first + count {
            let Some(Some(step)) = result.step_results.get(index) else {
                return Err(StoreError::database(format!(
                    "{} returned no result for statement {}",
                    self.location,
                    index - first + 1
                )));
            };
            outputs.push(output(step, batch.statements[index - first].returns_rows)?);
        }
        Ok(outputs)
    }
}

#[async_trait]
impl Executor for RemoteExecutor {
    async fn run(&self, batch: Batch) -> StoreResult<Vec<Output>> {
        retry_busy(
            &self.location,
            self.busy_timeout,
            self.operation_timeout,
            || self.run_once(&batch),
        )
        .await
    }
}

/// The protocol's steps for `batch`, and the index of its first statement.
///
/// A batch that writes, or holds several statements, runs inside a
/// transaction: `BEGIN IMMEDIATE` (or `BEGIN` for reads), each statement
/// only if the step before it succeeded, `COMMIT` only if the last
/// statement succeeded, and `ROLLBACK` if the commit did not happen. The
/// server runs every step without waiting for the client.
fn steps(batch: &Batch) -> (Vec<BatchStep>, usize) {
    let statements = batch.statements.iter().map(stmt);
    if !batch.writes && !batch.needs_transaction() {
        let steps = statements
            .map(|stmt| BatchStep {
                condition: None,
                stmt,
            })
            .collect();
        return (steps, 0);
    }
    let begin = if batch.writes {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    let mut steps = vec![BatchStep {
        condition: None,
        stmt: Stmt::new(begin, false),
    }];
    for stmt in statements {
        let step = (steps.len() - 1) as u32;
        steps.push(BatchStep {
            condition: Some(BatchCond::Ok { step }),
            stmt,
        });
    }
    let last = (steps.len() - 1) as u32;
    steps.push(BatchStep {
        condition: Some(BatchCond::Ok { step: last }),
        stmt: Stmt::new("COMMIT", false),
    });
    steps.push(BatchStep {
        condition: Some(BatchCond::Not {
            cond: Box::new(BatchCond::Ok { step: last + 1 }),
        }),
        stmt: Stmt::new("ROLLBACK", false),
    });
    (steps, 1)
}

fn stmt(statement: &Statement) -> Stmt {
    let mut stmt = Stmt::new(statement.sql.as_ref(), statement.returns_rows);
    for value in &statement.params {
        stmt.bind(to_proto(value));
    }
    stmt
}

fn to_proto(value: &Value) -> proto::Value {
    match value {
        Value::Null => proto::Value::Null,
        Value::Integer(n) => proto::Value::Integer { value: *n },
        Value::Real(x) => proto::Value::Float { value: *x },
        Value::Text(s) => proto::Value::Text {
            value: Arc::from(s.as_str()),
        },
        Value::Blob(b) => proto::Value::Blob {
            value: Bytes::from(b.clone()),
        },
    }
}

fn from_proto(value: &proto::Value) -> Value {
    match value {
        proto::Value::None | proto::Value::Null => Value::Null,
        proto::Value::Integer { value } => Value::Integer(*value),
        proto::Value::Float { value } => Value::Real(*value),
        proto::Value::Text { value } => Value::Text(value.to_string()),
        proto::Value::Blob { value } => Value::Blob(value.to_vec()),
    }
}

fn output(result: &proto::StmtResult, returns_rows: bool) -> StoreResult<Output> {
    let rows: Vec<Row> = result
        .rows
        .iter()
        .map(|row| Row(row.values.iter().map(from_proto).collect()))
        .collect();
    Ok(Output {
        changes: if returns_rows {
            rows.len() as u64
        } else {
            result.affected_row_count
        },
        rows,
    })
}
