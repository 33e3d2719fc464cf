//! `GET /jobs/{id}/events`: a job's changes as server-sent events.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::view::job_response;
use crate::http::error::ApiError;
use crate::http::extract::JobIdPath;
use crate::http::types::JobResponse;
use crate::http::HttpState;
use crate::job::{JobId, JobStatus};
use crate::store::{changed_or_after, Changes};

/// The name of the event carrying the job (a [`JobResponse`]).
pub const JOB_EVENT: &str = "job";
/// The name of the event that ends a stream on a store error (an
/// [`ErrorResponse`](crate::http::ErrorResponse)).
pub const ERROR_EVENT: &str = "error";

/// Streams the job as it is now, then each change of its status, stage,
/// progress, queue position or attempt, until the event that shows it
/// ended; then the stream ends. An unknown job gets 404 before any event.
///
/// On a store with a change feed, the job is read again at each commit
/// (at most every 2 ms), so a change made by any process shows within
/// milliseconds; on a server, every `events_interval`.
pub(crate) async fn stream(
    State(state): State<HttpState>,
    JobIdPath(id): JobIdPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let store = state.store().as_ref();
    let first = job_response(store, store.get(id).await?).await?;
    Ok(Sse::new(follow(state, id, first)).keep_alive(KeepAlive::default()))
}

/// What a watcher sees change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    status: JobStatus,
    stage: Option<String>,
    progress: Option<f32>,
    queue_position: Option<u64>,
    attempt: u32,
    cancel_requested: bool,
}

impl Snapshot {
    fn of(job: &JobResponse) -> Self {
        Snapshot {
            status: job.status,
            stage: job.stage.clone(),
            progress: job.progress,
            queue_position: job.queue_position,
            attempt: job.attempt,
            cancel_requested: job.cancel_requested,
        }
    }
}

struct Follow {
    state: HttpState,
    id: JobId,
    next: Option<JobResponse>,
    last: Option<Snapshot>,
    done: bool,
    /// The store's commits, when it tells them (a local file): the job is
    /// read again at each, else every `events_interval`.
    changes: Option<Changes>,
    /// When the job was last read.
    read_at: tokio::time::Instant,
}

/// The shortest time between two reads of a followed job.
const READ_GAP: std::time::Duration = std::time::Duration::from_millis(2);

fn follow(
    state: HttpState,
    id: JobId,
    first: JobResponse,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let changes = state.store().changes().map(|feed| feed.subscribe());
    let start = Follow {
        state,
        id,
        next: Some(first),
        last: None,
        done: false,
        changes,
        read_at: tokio::time::Instant::now(),
    };
    stream::unfold(start, |mut follow| async move {
        if follow.done {
            return None;
        }
        loop {
            let job = match follow.next.take() {
                Some(job) => job,
                None => {
                    let every = follow.state.settings().events_interval;
                    tokio::select! {
                        _ = changed_or_after(&mut follow.changes, every, READ_GAP, follow.read_at) => {}
                        _ = follow.state.shutdown().cancelled() => return None,
                    }
                    follow.read_at = tokio::time::Instant::now();
                    let store = follow.state.store().as_ref();
                    let loaded = match store.get(follow.id).await {
                        Ok(job) => job_response(store, job).await,
                        Err(error) => Err(error.into()),
                    };
                    match loaded {
                        Ok(job) => job,
                        Err(error) => {
                            follow.done = true;
                            return Some((Ok(error_event(&error)), follow));
                        }
                    }
                }
            };
            let snapshot = Snapshot::of(&job);
            if follow.last.as_ref() == Some(&snapshot) {
                continue;
            }
            follow.last = Some(snapshot);
            follow.done = job.status.is_terminal();
            return Some((Ok(job_event(&job)), follow));
        }
    })
}

fn job_event(job: &JobResponse) -> Event {
    Event::default()
        .event(JOB_EVENT)
        .json_data(job)
        .unwrap_or_else(|e| Event::default().event(ERROR_EVENT).data(e.to_string()))
}

fn error_event(error: &ApiError) -> Event {
    Event::default()
        .event(ERROR_EVENT)
        .json_data(error.body())
        .unwrap_or_else(|e| Event::default().event(ERROR_EVENT).data(e.to_string()))
}
