//! `GET /jobs/{id}/events`: server-sent events of a job's changes.

use jobstore::http::ErrorCode;
use jobstore::{JobStatus, NewJob, Progress};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect_error, EventReader, Server};

#[tokio::test]
async fn a_running_job_streams_its_changes_in_order_then_the_stream_ends() {
    let server = Server::start().await;
    let job = server
        .store
        .create(NewJob::new("stream", json!({})))
        .await
        .unwrap();
    let response = server.get(&format!("/jobs/{}/events", job.id)).await;
    let mut events = EventReader::new(response);

    let first = events.next_job().await;
    assert_eq!(first.status, JobStatus::Pending);
    assert_eq!(first.queue_position, Some(0));

    // Each change is made once the previous one was seen, so none can be
    // folded into the next poll.
    let claimed = server.claim("stream").await;
    let running = events.next_job().await;
    assert_eq!(running.status, JobStatus::Running);
    assert_eq!(running.queue_position, None);

    for percent in [10.0, 55.5] {
        let progress = Progress::percent("encoding", percent);
        server
            .store
            .progress(&claimed.lease, &progress)
            .await
            .unwrap();
        let seen = events.next_job().await;
        assert_eq!(seen.stage.as_deref(), Some("encoding"));
        assert_eq!(seen.progress, Some(percent));
    }
    let uploading = Progress::indeterminate("uploading");
    server
        .store
        .progress(&claimed.lease, &uploading)
        .await
        .unwrap();
    let seen = events.next_job().await;
    assert_eq!(seen.stage.as_deref(), Some("uploading"));
    assert_eq!(seen.progress, None);

    // A heartbeat changes nothing a watcher sees: no event.
    server
        .store
        .heartbeat(&claimed.lease, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    server
        .store
        .complete(&claimed.lease, json!({"ok": true}))
        .await
        .unwrap();
    let done = events.next_job().await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.result, Some(json!({"ok": true})));
    assert_eq!(
        events.next().await,
        None,
        "the stream ends after the last event"
    );
}

#[tokio::test]
async fn a_finished_job_gets_one_event_and_an_unknown_one_404() {
    let server = Server::start().await;
    let job = server
        .store
        .create(NewJob::new("f", json!({})))
        .await
        .unwrap();
    server.store.cancel(job.id).await.unwrap();
    let mut events = EventReader::new(server.get(&format!("/jobs/{}/events", job.id)).await);
    assert_eq!(events.next_job().await.status, JobStatus::Cancelled);
    assert_eq!(events.next().await, None);

    let unknown = uuid::Uuid::now_v7();
    expect_error(
        server.get(&format!("/jobs/{unknown}/events")).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    expect_error(
        server.get("/jobs/nope/events").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidId,
    )
    .await;
}

#[tokio::test]
async fn shutting_down_ends_open_streams() {
    let server = Server::start().await;
    let job = server
        .store
        .create(NewJob::new("s", json!({})))
        .await
        .unwrap();
    let mut events = EventReader::new(server.get(&format!("/jobs/{}/events", job.id)).await);
    assert_eq!(events.next_job().await.status, JobStatus::Pending);
    // The job never ends, yet the server stops in time.
    server.stop().await;
    assert_eq!(events.next().await, None);
}

#[tokio::test]
async fn the_counts_stream_tells_each_change_of_the_counts() {
    let server = Server::start().await;
    let response = server
        .client
        .get(server.url("/events"))
        .send()
        .await
        .unwrap();
    let mut events = EventReader::new(response);
    let (name, data) = events.next().await.expect("the counts now");
    assert_eq!(name, "stats");
    let stats: jobstore::http::StatsResponse = serde_json::from_str(&data).unwrap();
    assert_eq!(stats.total, 0);
    server
        .store
        .create(NewJob::new("counted", json!({})))
        .await
        .unwrap();
    let (name, data) = events.next().await.expect("the counts after a job");
    assert_eq!(name, "stats");
    let stats: jobstore::http::StatsResponse = serde_json::from_str(&data).unwrap();
    assert_eq!((stats.total, stats.by_status.pending), (1, 1));
}
