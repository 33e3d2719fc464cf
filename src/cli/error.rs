//! What can go wrong on the command line.

use crate::worker::WorkerError;
use crate::StoreError;

/// A command's failure, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker refused its setup or stopped.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The store refused the action in the state the job is in (a cancel
    /// of a finished job): the HTTP API's 409.
    #[error("{0}")]
    Refused(String),
    /// An argument was not acceptable.
    #[error("{0}")]
    Input(String),
    /// The server could not listen or stopped with an error.
    #[error("{0}")]
    Server(String),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(String),
}
