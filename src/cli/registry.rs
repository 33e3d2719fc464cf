//! The job types built into the `jobstore` binary.

use crate::worker::{Registry, WorkerError};

/// The registry of the job types the `jobstore` binary can run itself
/// (`jobstore serve --worker`). Register built-in job types here, and only
/// here.
pub fn builtin_registry() -> Result<Registry, WorkerError> {
    let registry = Registry::new();
    Ok(registry)
}
