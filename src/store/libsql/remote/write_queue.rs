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

use std::sync::{Mutex, PoisonError};

use libsql_hrana::proto::{Batch, BatchResult};
use tokio::sync::oneshot;

use super::hrana::{HranaClient, HranaError};

/// A batch waiting for its request, and where its answer goes.
struct Waiting {
    batch: Batch,
    answer: oneshot::Sender<Result<BatchResult, HranaError>>,
}

/// The writes of one store waiting to be sent, and the turn to send them.
#[derive(Default)]
pub(crate) struct WriteQueue {
    waiting: Mutex<Vec<Waiting>>,
    /// Held by the caller whose request is on its way.
    turn: tokio::sync::Mutex<()>,
}

impl WriteQueue {
    /// Sends `batch` through `client` with the batches of every other
    /// caller waiting at the same time, and returns its own result.
    ///
    /// A caller that gives up (its future dropped) before its batch is
    /// sent is left out of the request. The request itself runs on a task
    /// of its own, so a caller giving up while it is on its way does not
    /// take the others' answers with it.
    pub(crate) async fn send(
        &self,
        client: &HranaClient,
        batch: Batch,
    ) -> Result<BatchResult, HranaError> {
        let (answer, answered) = oneshot::channel();
        self.waiting().push(Waiting { batch, answer });
        {
            let _turn = self.turn.lock().await;
            // Everything waiting now, this caller's batch included unless
            // the caller before took it along.
            let taken: Vec<Waiting> = std::mem::take(&mut *self.waiting())
                .into_iter()
                .filter(|waiting| !waiting.answer.is_closed())
                .collect();
            if !taken.is_empty() {
                let client = client.clone();
                let request = tokio::spawn(async move {
                    let (batches, answers): (Vec<Batch>, Vec<_>) = taken
                        .into_iter()
                        .map(|waiting| (waiting.batch, waiting.answer))
                        .unzip();
                    match client.send_kept_many(batches).await {
                        Ok(results) => {
                            let mut results = results.into_iter();
                            for answer in answers {
                                let result = results.next().unwrap_or_else(|| {
                                    Err(HranaError::Protocol("a batch got no result".into()))
                                });
                                let _ = answer.send(result);
                            }
                        }
                        Err(error) => {
                            for answer in answers {
                                let _ = answer.send(Err(error.clone()));
                            }
                        }
                    }
                });
                // A request that panicked dropped its answers: each
                // caller's own receiver reports that below.
                let _ = request.await;
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
