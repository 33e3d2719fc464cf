//! The store's pool, closed cleanly wherever its last clone is dropped.
//!
//! deadpool closes each connection on tokio's blocking pool, and asks for
//! that pool even when no runtime is running, where tokio panics: a store
//! kept past its runtime (opened in `block_on`, dropped after the runtime)
//! would panic when dropped. Dropped where no runtime runs, the pool is
//! therefore closed inside a small runtime made for it, which waits for
//! every connection to close before it is gone.

use std::ops::Deref;

use super::manager::Pool;

/// Owns the store's [`Pool`]; the store holds it in an `Arc`, so this is
/// dropped with the last clone of the store.
pub(crate) struct OwnedPool(Pool);

impl OwnedPool {
    pub(crate) fn new(pool: Pool) -> Self {
        OwnedPool(pool)
    }
}

impl Deref for OwnedPool {
    type Target = Pool;

    fn deref(&self) -> &Pool {
        &self.0
    }
}

impl Drop for OwnedPool {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Its connections close on this runtime's blocking pool.
            return;
        }
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => {
                let entered = runtime.enter();
                // Drops the idle connections, each handing its close to the
                // blocking pool of `runtime`.
                self.0.close();
                drop(entered);
                // Dropping the runtime waits for those closes to finish.
                drop(runtime);
            }
            Err(error) => {
                // The connections are left open to the end of the process
                // (a clone of the pool is leaked to keep them) rather than
                // closed with a panic.
                tracing::warn!(%error, "cannot close the SQLite connections: no runtime could be started");
                std::mem::forget(self.0.clone());
            }
        }
    }
}
