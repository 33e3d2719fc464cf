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
            // A task that only waits: the runtime drops it, and with it
            // `alive`, when it shuts down, and the loop must then stop at
            // once (its timers and tasks are gone).
            let (alive, runtime_gone) = oneshot::channel::<()>();
            let sentinel = handle.spawn(async move {
                let _alive = alive;
                std::future::pending::<()>().await;
            });
            let ended = handle.block_on(async {
                tokio::select! {
                    biased;
                    _ = runtime_gone => None,
                    summary = RunLoop::new(&worker).run(stop).instrument(span) => Some(summary),
                }
            });
            sentinel.abort();
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
