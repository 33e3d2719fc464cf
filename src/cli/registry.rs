//! The job types built into the `jobstore` binary.

use crate::exec::Exec;
use crate::worker::{Registry, WorkerError};

/// The registry of the job types the `jobstore` binary can run itself
/// (`jobstore worker`, `jobstore serve --worker`, `jobstore demo`): today
/// the `exec` job type. Register built-in job types here, and only here.
pub fn builtin_registry() -> Result<Registry, WorkerError> {
    let mut registry = Registry::new();
    registry.register(Exec)?;
    Ok(registry)
}
