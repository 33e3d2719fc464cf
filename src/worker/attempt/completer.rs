//! Writing completions: directly, or as a group commit, where the results
//! of attempts that finish while a write is in flight share the next
//! transaction.
//!
//! A lone completion is written at once (no waiting for company); under
//! load, groups form by themselves, so the cost of a transaction is shared
//! by every job that finished during the previous one. Each completion is
//! still guarded by its own lease, so fencing and at-least-once are
//! unchanged.
//!
//! An attempt either waits for its completion to be written and learns its
//! outcome (a client's run, run-once mode), or, in a worker's loop, hands
//! its result over and ends: the loop writes it with its next round and
//! logs and counts the outcome itself. That saves waking the attempt's task
//! again for every job, which is much of what a short job costs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{StoreError, StoreResult};
use crate::job::JobStatus;
use crate::store::{Completion, JobStore, Lease};
use crate::worker::AttemptOutcome;

/// The most completions written in one transaction.
pub(crate) const MAX_GROUP: usize = 512;

/// Where an attempt's result goes.
#[derive(Clone)]
pub(crate) enum Completer {
    /// One transaction per completion.
    Direct(Arc<dyn JobStore>),
    /// Handed to a group writer, which answers once it is committed.
    Grouped(mpsc::UnboundedSender<Pending>),
    /// Handed to a worker's loop, which writes it, logs and counts its
    /// outcome (see [`Completer::hand_over`]).
    Loop(mpsc::UnboundedSender<Pending>),
}

/// A completion waiting to be written, and who learns its outcome.
pub(crate) struct Pending {
    completion: Completion,
    reply: Reply,
}

/// Who learns how writing a completion went.
enum Reply {
    /// The attempt, waiting.
    Waiting(oneshot::Sender<StoreResult<()>>),
    /// The writer: the attempt has ended.
    Handed(Handed),
}

/// What the loop needs to log a handed-over attempt's outcome.
struct Handed {
    lease: Lease,
    /// The attempt's span (its job's id, type and attempt).
    span: tracing::Span,
    /// How long the attempt ran, to its handler's end.
    took: Duration,
}

/// Where the outcomes of a group's completions go, in the group's order.
pub(crate) struct Replies(Vec<Reply>);

impl Completer {
    /// A completer that hands results over to a worker's loop, and the
    /// receiving end they arrive on; the loop writes them (see [`take`])
    /// and answers them (see [`Replies::answer`]).
    pub(crate) fn channel() -> (Completer, mpsc::UnboundedReceiver<Pending>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Completer::Loop(sender), receiver)
    }

    /// A group writer on `store`, running until every handle to it is
    /// dropped; join the task to wait for its last group.
    pub(crate) fn grouped(store: Arc<dyn JobStore>) -> (Completer, JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_groups(store, receiver));
        (Completer::Grouped(sender), writer)
    }

    /// Hands the result of the attempt holding `lease` over to the worker's
    /// loop without waiting for it to be written, when this completer
    /// does that; otherwise gives the result back. The current span is the
    /// attempt's, in which the loop logs the outcome; `took` is how long
    /// the attempt ran.
    pub(crate) fn hand_over(
        &self,
        lease: &Lease,
        result: serde_json::Value,
        took: Duration,
    ) -> Result<StoreResult<()>, serde_json::Value> {
        let Completer::Loop(sender) = self else {
            return Err(result);
        };
        let pending = Pending {
            completion: Completion::new(*lease, result),
            reply: Reply::Handed(Handed {
                lease: *lease,
                span: tracing::Span::current(),
                took,
            }),
        };
        Ok(sender.send(pending).map_err(|_| writer_gone()))
    }

    /// Finishes the job held by `lease` with `result`, once it is committed.
    pub(crate) async fn complete(
        &self,
        lease: &Lease,
        result: serde_json::Value,
    ) -> StoreResult<()> {
        let outcome = match self {
            Completer::Direct(store) => store.complete(lease, result).await,
            Completer::Grouped(sender) | Completer::Loop(sender) => {
                let (reply, outcome) = oneshot::channel();
                let pending = Pending {
                    completion: Completion::new(*lease, result),
                    reply: Reply::Waiting(reply),
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
    /// Tells each attempt how writing its completion went (its own outcome,
    /// or the error that aborted the whole group), and logs the outcome of
    /// each handed-over attempt; returns those outcomes, to be counted.
    pub(crate) fn answer(self, written: StoreResult<Vec<StoreResult<()>>>) -> Vec<AttemptOutcome> {
        let mut handed = Vec::new();
        match written {
            Ok(outcomes) => {
                for (reply, outcome) in self.0.into_iter().zip(outcomes) {
                    handed.extend(reply.send(outcome));
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
                    handed.extend(reply.send(Err(StoreError::Database {
                        message: message.clone(),
                        source: source.clone(),
                    })));
                }
            }
        }
        handed
    }
}

impl Reply {
    /// Tells the waiting attempt `outcome`, or logs a handed-over one's and
    /// returns it.
    fn send(self, outcome: StoreResult<()>) -> Option<AttemptOutcome> {
        match self {
            Reply::Waiting(reply) => {
                // The attempt may have been dropped (a panic elsewhere):
                // nobody is left to tell.
                let _ = reply.send(outcome);
                None
            }
            Reply::Handed(handed) => {
                let _entered = handed.span.enter();
                let outcome = match written_before(&handed.lease, outcome) {
                    Ok(()) => {
                        tracing::info!("completed in {}", super::took_text(handed.took));
                        AttemptOutcome::Completed
                    }
                    Err(error) => super::outcome::store_error("complete", error),
                };
                Some(outcome)
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
        // This writer's attempts wait for their outcomes: none is handed.
        replies.answer(written);
    }
}
