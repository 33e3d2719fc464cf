//! Writing completions: directly, or as a group commit, where the results
//! of attempts that finish while a write is in flight share the next
//! transaction.
//!
//! A lone completion is written at once (no waiting for company); under
//! load, groups form by themselves, so the cost of a transaction is shared
//! by every job that finished during the previous one. Each completion is
//! still guarded by its own lease, and each attempt learns its own outcome
//! before it ends, so fencing and at-least-once are unchanged.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{StoreError, StoreResult};
use crate::store::{Completion, JobStore, Lease};

/// The most completions written in one transaction.
const MAX_GROUP: usize = 512;

/// Where an attempt's result goes.
#[derive(Clone)]
pub(crate) enum Completer {
    /// One transaction per completion.
    Direct(Arc<dyn JobStore>),
    /// Handed to the group writer, which answers once it is committed.
    Grouped(mpsc::UnboundedSender<Pending>),
}

/// A completion waiting for the group writer, and where to send its outcome.
pub(crate) struct Pending {
    completion: Completion,
    reply: oneshot::Sender<StoreResult<()>>,
}

impl Completer {
    /// A group writer on `store`, running until every handle to it is
    /// dropped; join the task to wait for its last group.
    pub(crate) fn grouped(store: Arc<dyn JobStore>) -> (Completer, JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_groups(store, receiver));
        (Completer::Grouped(sender), writer)
    }

    /// Finishes the job held by `lease` with `result`, once it is committed.
    pub(crate) async fn complete(
        &self,
        lease: &Lease,
        result: serde_json::Value,
    ) -> StoreResult<()> {
        match self {
            Completer::Direct(store) => store.complete(lease, result).await,
            Completer::Grouped(sender) => {
                let (reply, outcome) = oneshot::channel();
                let pending = Pending {
                    completion: Completion::new(*lease, result),
                    reply,
                };
                sender.send(pending).map_err(|_| writer_gone())?;
                outcome.await.map_err(|_| writer_gone())?
            }
        }
    }
}

fn writer_gone() -> StoreError {
    StoreError::Database("the completion writer stopped before writing this result".into())
}

/// Writes whatever completions are waiting, up to [`MAX_GROUP`] per
/// transaction, until the channel closes.
async fn write_groups(store: Arc<dyn JobStore>, mut receiver: mpsc::UnboundedReceiver<Pending>) {
    let mut group = Vec::new();
    while receiver.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (completions, replies): (Vec<_>, Vec<_>) =
            group.drain(..).map(|p| (p.completion, p.reply)).unzip();
        let count = completions.len();
        match store.complete_many(completions).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // The attempt may have been dropped (a panic elsewhere):
                    // nobody is left to tell.
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                tracing::error!(%error, count, "writing a group of completions failed");
                let message = match error {
                    StoreError::Database(message) => message,
                    other => other.to_string(),
                };
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Database(message.clone())));
                }
            }
        }
    }
}
