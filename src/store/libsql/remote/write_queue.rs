//! One store's writes to a libSQL server, one request at a time: the
//! batches that arrive while a request is on its way wait, and go together
//! in the next one (group commit).
//!
//! A server's write lock admits one transaction at a time anyway. Sent
//! side by side, concurrent writers of one store only wait for that lock
//! on the server, and sqld 0.24 starves the lock's holder when many wait
//! on a machine short of CPU, until they time out one after another
//! (`TRANSACTION_TIMEOUT`) and later requests stall. Queued here they cost
//! the server nothing, and a burst of writes (a web service's enqueues)
//! still costs one round trip, not one each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use libsql_hrana::proto::{Batch, BatchResult};
use tokio::sync::oneshot;

use super::hrana::{HranaClient, HranaError};

/// A batch waiting for its request, and where its answer goes.
struct Waiting {
    /// Tells the caller's own batch from the others'.
    id: u64,
    batch: Batch,
    answer: oneshot::Sender<Result<BatchResult, HranaError>>,
}

/// The writes of one store waiting to be sent, and the turn to send them.
#[derive(Default)]
pub(crate) struct WriteQueue {
    waiting: Mutex<Vec<Waiting>>,
    /// Held by the caller whose request is on its way.
    turn: tokio::sync::Mutex<()>,
    next_id: AtomicU64,
}

impl WriteQueue {
    /// Sends `batch` through `client` with the batches of every other
    /// caller waiting at the same time, and returns its own result.
    ///
    /// A caller alone sends its batch itself. A caller that gives up (its
    /// future dropped) before its batch is sent is left out of the
    /// request. A request carrying others' batches runs on a task of its
    /// own, so a caller giving up while it is on its way does not take the
    /// others' answers with it.
    pub(crate) async fn send(
        &self,
        client: &HranaClient,
        batch: Batch,
    ) -> Result<BatchResult, HranaError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        self.waiting().push(Waiting { id, batch, answer });
        {
            let _turn = self.turn.lock().await;
            // Everything waiting now, this caller's batch included unless
            // the caller before took it along.
            let mut taken: Vec<Waiting> = std::mem::take(&mut *self.waiting())
                .into_iter()
                .filter(|waiting| !waiting.answer.is_closed())
                .collect();
            if taken.len() == 1 && taken[0].id == id {
                if let Some(alone) = taken.pop() {
                    return client.send_kept(alone.batch).await;
                }
            }
            if !taken.is_empty() {
                // A request that panicked dropped its answers: each
                // caller's own receiver reports that below.
                let _ = tokio::spawn(send_together(client.clone(), taken)).await;
            }
        }
        answered.await.unwrap_or_else(|_| {
            Err(HranaError::Transport(
                "the request carrying this write ended without an answer".into(),
            ))
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // Nothing panics while holding the lock.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends the batches of `taken` in one request and gives each its answer.
async fn send_together(client: HranaClient, taken: Vec<Waiting>) {
    let (batches, answers): (Vec<Batch>, Vec<_>) = taken
        .into_iter()
        .map(|waiting| (waiting.batch, waiting.answer))
        .unzip();
    match client.send_kept_many(batches).await {
        Ok(results) => {
            let mut results = results.into_iter();
            for answer in answers {
                let result = results
                    .next()
                    .unwrap_or_else(|| Err(HranaError::Protocol("a batch got no result".into())));
                // The caller may have given up meanwhile.
                let _ = answer.send(result);
            }
        }
        Err(error) => {
            for answer in answers {
                let _ = answer.send(Err(error.clone()));
            }
        }
    }
}
