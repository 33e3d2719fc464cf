//! Where a worker's loop runs.
//!
//! The loop is a worker's one serial path: every round it writes results
//! and claims jobs through the store, and a SQLite store runs each call in
//! place (`block_in_place`). On a thread of the runtime's pool, blocking in
//! place means handing the thread's other tasks to a new thread first,
//! each time; on a thread of its own, driving the loop with
//! `Handle::block_on`, the call just runs. So on a multi-threaded runtime
//! the loop gets a thread of its own, while its jobs run as tasks on the
//! runtime (those quick to reach their first wait start on the loop's
//! thread, see [`first_poll`](super::first_poll)). On a current-thread
//! runtime it runs in the caller's task.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::run_loop::RunLoop;
use super::{RunSummary, Worker, WorkerError};

/// Runs `worker`'s loop until `shutdown` is cancelled and it has drained.
///
/// Dropping the returned future shuts the loop down as cancelling
/// `shutdown` would (it finishes draining on its own thread).
pub(super) async fn run(
    worker: &Worker,
    shutdown: CancellationToken,
) -> Result<RunSummary, WorkerError> {
    let handle = Handle::current();
    if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
        return Ok(RunLoop::new(worker).run(shutdown).await);
    }
    let stop = shutdown.child_token();
    let _stop_when_dropped = stop.clone().drop_guard();
    let (done, summary) = oneshot::channel();
    let worker = worker.clone();
    let span = tracing::Span::current();
    thread::Builder::new()
        .name(format!("jobstore-worker-{}", worker.config.worker_id))
        .spawn(move || {
            let liveness = Arc::new(Mutex::new(Liveness::Alive));
            let (alive, mut runtime_gone) = oneshot::channel::<()>();
            let sentinel = handle.spawn({
                let sentinel = Sentinel {
                    liveness: Arc::clone(&liveness),
                    _alive: alive,
                };
                async move {
                    let _sentinel = sentinel;
                    std::future::pending::<()>().await;
                }
            });
            let mut run = Box::pin(RunLoop::new(&worker).run(stop).instrument(span));
            let ended = handle.block_on(std::future::poll_fn(|cx| {
                // Held while the loop is polled: the runtime cannot drop the
                // sentinel, and so cannot go on to shut its timers down,
                // in the middle of a poll.
                let Ok(liveness) = liveness.lock() else {
                    return Poll::Ready(None);
                };
                if *liveness == Liveness::Gone || Pin::new(&mut runtime_gone).poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                run.as_mut().poll(cx).map(Some)
            }));
            sentinel.abort();
            // A loop stopped mid-call holds what that call was waiting for
            // (a connection being opened, say), whose drop may hand work to
            // the runtime's blocking pool: dropped inside the runtime's
            // context, a runtime that is gone refuses it instead of the
            // drop panicking for want of a runtime.
            {
                let _entered = handle.enter();
                drop(run);
            }
            match ended {
                // The caller may have stopped waiting; the loop drained anyway.
                Some(summary) => drop(done.send(summary)),
                None => tracing::warn!("the runtime shut down under a running worker"),
            }
        })
        .map_err(|e| WorkerError::Loop(format!("cannot start the loop's thread: {e}")))?;
    summary
        .await
        .map_err(|_| WorkerError::Loop("the loop's thread panicked".into()))
}

/// Whether the runtime the loop's jobs and timers belong to still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Liveness {
    Alive,
    Gone,
}

/// Lives in a task of the runtime that only waits: the runtime drops it
/// when it shuts down, before it shuts its drivers down. Its drop marks
/// the runtime gone under the lock the loop's thread holds while it polls
/// the loop, so the loop is never polled (and never polls a timer) past
/// that point, and then wakes the loop's thread to stop. (The runtime's
/// shutdown so waits for at most the end of one poll of the loop: a store
/// call, or the first poll of a job started on the loop's thread.)
struct Sentinel {
    liveness: Arc<Mutex<Liveness>>,
    /// Dropped after [`Sentinel::drop`] has run: the wake-up.
    _alive: oneshot::Sender<()>,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        // A poisoned lock means the loop panicked: nothing left to guard.
        if let Ok(mut liveness) = self.liveness.lock() {
            *liveness = Liveness::Gone;
        }
    }
}
