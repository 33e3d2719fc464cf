//! A job type: a Rust type with a stable name, typed params and output,
//! and an async handler.

use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{JobContext, JobError, ProgramAllowlist};
use crate::error::StoreError;
use crate::job::NewJob;

/// A kind of job the worker knows how to run.
///
/// ```
/// use async_trait::async_trait;
/// use jobstore::worker::{JobContext, JobError, JobType, ResultExt};
/// use serde::{Deserialize, Serialize};
///
/// struct Thumbnail;
///
/// #[derive(Serialize, Deserialize)]
/// struct Params { path: String, width: u32 }
///
/// #[async_trait]
/// impl JobType for Thumbnail {
///     const NAME: &'static str = "thumbnail";
///     const STAGES: &'static [&'static str] = &["decoding", "resizing"];
///     type Params = Params;
///     type Output = String;
///
///     async fn run(&self, params: Params, ctx: &JobContext) -> Result<String, JobError> {
///         if params.width == 0 {
///             return Err(JobError::permanent("width must be positive"));
///         }
///         ctx.progress("decoding", None).await?;
///         ctx.progress("resizing", Some(50.0)).await?;
///         Ok(format!("{}.thumb.png", params.path))
///     }
/// }
/// ```
#[async_trait]
pub trait JobType: Send + Sync + 'static {
    /// The name stored with every job of this type: keep it stable.
    const NAME: &'static str;

    /// The stages a job of this type goes through, in order, so pollers can
    /// show "stage 2 of 4". Empty when the type does not declare them.
    const STAGES: &'static [&'static str] = &[];

    /// The queue a job of this type goes to unless it names another
    /// ([`JobType::job`] puts it there).
    const QUEUE: &'static str = NewJob::DEFAULT_QUEUE;

    /// The handler's input, serialized into the job at enqueue.
    type Params: Serialize + DeserializeOwned + Send + 'static;

    /// The handler's output, stored as the job's result.
    type Output: Serialize + Send + 'static;

    /// How long one attempt may run before it is stopped and counted as a
    /// transient failure.
    fn timeout(&self) -> Duration {
        Duration::from_secs(600)
    }

    /// Checks params before a job is stored, where the enqueuer knows the
    /// type ([`Worker::enqueue`](super::Worker::enqueue), its client,
    /// `jobstore serve --worker`): a job that can never run is refused at
    /// enqueue with this message instead of failing at every attempt.
    /// `allowed` is the worker's [`ProgramAllowlist`], for types that start
    /// programs. The default accepts every params that deserialize.
    fn check(&self, params: &Self::Params, allowed: &ProgramAllowlist) -> Result<(), String> {
        let _ = (params, allowed);
        Ok(())
    }

    /// Runs one attempt of the job.
    ///
    /// In a worker, a run of a type whose runs have been quick to reach
    /// their first `.await` that waits starts on the thread of the
    /// worker's loop and continues, from that `.await` on, as a task of
    /// the runtime; the type's first run, and runs of a type that computes
    /// or blocks before waiting, start as tasks (see
    /// [`WorkerConfig::inline_start_limit`](super::WorkerConfig::inline_start_limit)).
    /// Either way the run is inside the worker's Tokio runtime, but not
    /// always inside a task of it: `tokio::task::id()` panics there (use
    /// `tokio::task::try_id()`).
    async fn run(&self, params: Self::Params, ctx: &JobContext) -> Result<Self::Output, JobError>;

    /// A new job of this type with `params`, in the type's queue, to
    /// schedule or tune before it is enqueued (`.delay(..)`,
    /// `.max_attempts(..)`, `.priority(..)`) or to insert inside
    /// the caller's own transaction
    /// ([`enqueue_in`](crate::store::sqlite::enqueue_in)). Params that
    /// cannot be serialized are refused here, before anything is stored.
    fn job(params: &Self::Params) -> Result<NewJob, StoreError>
    where
        Self: Sized,
    {
        NewJob::with_params(Self::NAME, params).map(|job| job.queue(Self::QUEUE))
    }
}
