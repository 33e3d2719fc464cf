//! `GET /events`: the counts of jobs as server-sent events, again at every
//! change (and a bare `change` event when only something else changed), for a page that stays open (the dashboard holds one such stream
//! per tab instead of polling).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::time::Instant;

use crate::http::job_stats::job_stats;
use crate::http::types::StatsResponse;
use crate::http::HttpState;
use crate::store::Changes;

/// The name of the event carrying the counts (a [`StatsResponse`]).
pub const STATS_EVENT: &str = "stats";

/// The name of the event telling that something changed that the counts
/// do not show (a job's progress, say): a page reads what it shows again.
/// A store that does not tell of its changes (a libSQL server) sends it at
/// every poll.
pub const CHANGE_EVENT: &str = "change";

/// The shortest time between two readings of the counts: a busy database
/// commits far more often than a page can show.
const READ_GAP: Duration = Duration::from_millis(250);

/// How often the counts are read on a store that does not tell of its
/// changes (a libSQL server).
const POLL_EVERY: Duration = Duration::from_secs(2);

struct Watch {
    state: HttpState,
    changes: Option<Changes>,
    last: Option<StatsResponse>,
    read_at: Option<Instant>,
}

/// Waits for the next change the store tells of (true), or for the poll
/// interval to pass (false); a store that tells of none is polled, and any
/// poll may have seen a change (true).
async fn next_change(changes: &mut Option<Changes>) -> bool {
    match changes {
        Some(changes) => tokio::select! {
            _ = changes.changed() => true,
            _ = tokio::time::sleep(POLL_EVERY) => false,
        },
        None => {
            tokio::time::sleep(POLL_EVERY).await;
            true
        }
    }
}

/// The counts now, then each time they change, and a `change` event when
/// something else changed, until the server stops.
pub(crate) async fn stream(
    State(state): State<HttpState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = state.store().changes().map(|feed| feed.subscribe());
    let start = Watch {
        state,
        changes,
        last: None,
        read_at: None,
    };
    let events = stream::unfold(start, |mut watch| async move {
        loop {
            let mut changed = false;
            if let Some(read_at) = watch.read_at {
                changed = tokio::select! {
                    changed = next_change(&mut watch.changes) => changed,
                    _ = watch.state.shutdown().cancelled() => return None,
                };
                tokio::select! {
                    _ = tokio::time::sleep_until(read_at + READ_GAP) => {}
                    _ = watch.state.shutdown().cancelled() => return None,
                }
            }
            watch.read_at = Some(Instant::now());
            let stats = match job_stats(watch.state.store().as_ref()).await {
                Ok(stats) => stats,
                Err(error) => {
                    tracing::warn!(%error, "cannot count jobs for a stream; will try again");
                    continue;
                }
            };
            if watch.last.as_ref() == Some(&stats) {
                if changed {
                    // Progress, a stage, a cron schedule: nothing the counts
                    // show, but a page shows it.
                    let event = Event::default().event(CHANGE_EVENT).data("{}");
                    return Some((Ok(event), watch));
                }
                continue;
            }
            let event = Event::default()
                .event(STATS_EVENT)
                .json_data(&stats)
                .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()));
            watch.last = Some(stats);
            return Some((Ok(event), watch));
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
