//! What the two SQLite-dialect backends share: every statement, written
//! once, and the store built on them.
//!
//! The Diesel backend ([`SqliteStore`](crate::SqliteStore)) and the libSQL
//! backend ([`LibsqlStore`](crate::LibsqlStore), on a local file or a
//! server) speak the same SQL to the same schema. Here each store operation
//! is a [`Batch`] of statements with their values, and a function that
//! reads what the batch returned; [`SqlStore`] runs them through an
//! [`Executor`], which is all a backend provides: how to run a batch in one
//! transaction on its connections (or, against a server, in one request).
//!
//! - [`value`]: the values statements bind and rows hold;
//! - [`batch`]: statements, batches, executors;
//! - [`job_row`] and [`cron`]: the row shapes and their one column lists;
//! - [`create`], [`read`], [`claim`], [`lease`], [`cancel`]: the statements
//!   of each concern;
//! - [`store`]: the [`JobStore`](crate::JobStore) they make;
//! - [`monitor`]: the thread that checkpoints a local file's log.

pub(crate) mod activity;
pub(crate) mod batch;
pub(crate) mod bulk;
pub(crate) mod cancel;
pub(crate) mod claim;
pub(crate) mod create;
pub(crate) mod cron;
pub(crate) mod job_row;
pub(crate) mod lease;
pub(crate) mod monitor;
pub(crate) mod queues;
pub(crate) mod read;
pub(crate) mod store;
pub(crate) mod value;
pub(crate) mod workers;

pub(crate) use batch::{Batch, Executor, Output, Statement};
pub(crate) use store::SqlStore;
pub(crate) use value::{Row, Value};

use crate::error::{StoreError, StoreResult};

/// What the statements of a batch returned, read in order.
pub(crate) struct Outputs(std::vec::IntoIter<Output>);

impl Outputs {
    /// The outputs of a batch's statements, in order.
    pub(crate) fn new(outputs: Vec<Output>) -> Self {
        Outputs(outputs.into_iter())
    }

    fn next(&mut self) -> StoreResult<Output> {
        self.0.next().ok_or_else(|| {
            StoreError::database("the database returned fewer results than statements")
        })
    }

    /// The rows the next statement returned.
    pub(crate) fn next_rows(&mut self) -> StoreResult<Vec<Row>> {
        Ok(self.next()?.rows)
    }

    /// How many rows the next statement changed.
    pub(crate) fn next_changes(&mut self) -> StoreResult<u64> {
        Ok(self.next()?.changes)
    }
}
