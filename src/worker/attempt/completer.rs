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
use crate::job::JobStatus;
use crate::store::{Completion, JobStore, Lease};

/// The most completions written in one transaction.
pub(crate) const MAX_GROUP: usize = 512;

/// Where an attempt's result goes.
#[derive(Clone)]
pub(crate) enum Completer {
    /// One transaction per completion.
    Direct(Arc<dyn JobStore>),
    /// Handed to a group writer, which answers once it is committed.
    Grouped(mpsc::UnboundedSender<Pending>),
}

/// A completion waiting for the group writer, and where to send its outcome.
pub(crate) struct Pending {
    completion: Completion,
    reply: oneshot::Sender<StoreResult<()>>,
}

/// Where the outcomes of a group's completions go, in the group's order.
pub(crate) struct Replies(Vec<oneshot::Sender<StoreResult<()>>>);

impl Completer {
    /// A grouping completer and the receiving end its completions arrive
    /// on; whoever holds the receiver writes them (see [`take`]) and
    /// answers them (see [`Replies::answer`]).
    pub(crate) fn channel() -> (Completer, mpsc::UnboundedReceiver<Pending>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Completer::Grouped(sender), receiver)
    }

    /// A group writer on `store`, running until every handle to it is
    /// dropped; join the task to wait for its last group.
    pub(crate) fn grouped(store: Arc<dyn JobStore>) -> (Completer, JoinHandle<()>) {
        let (completer, receiver) = Completer::channel();
        let writer = tokio::spawn(write_groups(store, receiver));
        (completer, writer)
    }

    /// Finishes the job held by `lease` with `result`, once it is committed.
    pub(crate) async fn complete(
        &self,
        lease: &Lease,
        result: serde_json::Value,
    ) -> StoreResult<()> {
        let outcome = match self {
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
        };
        written_before(lease, outcome)
    }
}

/// Empties `group` into the completions to write and where their outcomes
/// go.
pub(crate) fn take(group: &mut Vec<Pending>) -> (Vec<Completion>, Replies) {
    let (completions, replies) = group.drain(..).map(|p| (p.completion, p.reply)).unzip();
    (completions, Replies(replies))
}

/// Puts completions taken by [`take`] back together with their replies, to
/// be written again.
pub(crate) fn rejoin(completions: Vec<Completion>, replies: Replies) -> Vec<Pending> {
    completions
        .into_iter()
        .zip(replies.0)
        .map(|(completion, reply)| Pending { completion, reply })
        .collect()
}

/// A refusal that means the completion was written after all: the job is
/// completed at the very attempt that completed it (a write whose answer
/// was lost, written again). No other attempt can complete it at that
/// attempt.
fn written_before(lease: &Lease, outcome: StoreResult<()>) -> StoreResult<()> {
    match outcome {
        Err(StoreError::LeaseLost {
            status: JobStatus::Completed,
            current_attempt,
            ..
        }) if current_attempt == lease.attempt => Ok(()),
        other => other,
    }
}

impl Replies {
    /// Tells each attempt how writing its completion went: its own outcome,
    /// or the error that aborted the whole group.
    pub(crate) fn answer(self, written: StoreResult<Vec<StoreResult<()>>>) {
        match written {
            Ok(outcomes) => {
                for (reply, outcome) in self.0.into_iter().zip(outcomes) {
                    // The attempt may have been dropped (a panic elsewhere):
                    // nobody is left to tell.
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                // Each reply gets the database's error (they share its
                // source).
                let (message, source) = match error {
                    StoreError::Database { message, source } => (message, source),
                    other => (
                        other.to_string(),
                        Some(std::sync::Arc::new(other) as crate::ErrorSource),
                    ),
                };
                for reply in self.0 {
                    let _ = reply.send(Err(StoreError::Database {
                        message: message.clone(),
                        source: source.clone(),
                    }));
                }
            }
        }
    }
}

fn writer_gone() -> StoreError {
    StoreError::database("the completion writer stopped before writing this result")
}

/// Writes whatever completions are waiting, up to [`MAX_GROUP`] per
/// transaction, until the channel closes.
async fn write_groups(store: Arc<dyn JobStore>, mut receiver: mpsc::UnboundedReceiver<Pending>) {
    let mut group = Vec::new();
    while receiver.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (completions, replies) = take(&mut group);
        let count = completions.len();
        let written = store.complete_many(completions).await;
        if let Err(error) = &written {
            tracing::error!(%error, count, "writing a group of completions failed");
        }
        replies.answer(written);
    }
}
