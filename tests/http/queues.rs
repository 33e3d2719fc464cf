//! Queues, priorities and unique keys over HTTP, and a server that knows
//! the job types refusing what can never run.

use std::sync::Arc;

use jobstore::exec::Exec;
use jobstore::http::{ErrorCode, HttpConfig, JobResponse};
use jobstore::store::QueueInfo;
use jobstore::worker::{ProgramAllowlist, Registry};
use jobstore::ClaimRequest;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect, expect_error, Server};

#[tokio::test]
async fn queues_are_listed_paused_resumed_and_limited() {
    let server = Server::start().await;
    for priority in [7, 1] {
        let body = json!({"job_type": "render", "queue": "video", "priority": priority});
        let job: JobResponse =
            expect(server.post_json("/jobs", &body).await, StatusCode::CREATED).await;
        assert_eq!((job.queue.as_str(), job.priority), ("video", priority));
    }
    let queues: Vec<QueueInfo> = expect(server.get("/queues").await, StatusCode::OK).await;
    assert_eq!(queues.len(), 1);
    assert_eq!((queues[0].name.as_str(), queues[0].available), ("video", 2));

    let paused: QueueInfo = expect(server.post("/queues/video/pause").await, StatusCode::OK).await;
    assert!(paused.paused);
    let video = ClaimRequest::new("w", 5).queue("video");
    assert!(server.store.claim(&video).await.unwrap().is_empty());
    let resumed: QueueInfo =
        expect(server.post("/queues/video/resume").await, StatusCode::OK).await;
    assert!(!resumed.paused);

    let limited: QueueInfo = expect(
        server
            .put_json("/queues/video/limit", &json!({"concurrency_limit": 1}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(limited.concurrency_limit, Some(1));
    let claimed = server.store.claim(&video).await.unwrap();
    assert_eq!(claimed.len(), 1, "the limit holds");
    assert_eq!(claimed[0].job.priority, 1, "the higher priority first");
    let shown: QueueInfo = expect(server.get("/queues/video").await, StatusCode::OK).await;
    assert_eq!((shown.running, shown.available), (1, 1));
    let unused: QueueInfo = expect(server.get("/queues/mail").await, StatusCode::OK).await;
    assert_eq!(unused.available, 0);

    expect_error(
        server.post("/queues/bad%20name/pause").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    )
    .await;
    expect_error(
        server
            .put_json("/queues/video/limit", &json!({"limit": 1}))
            .await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    )
    .await;
}

#[tokio::test]
async fn a_unique_key_held_answers_200_with_its_holder() {
    let server = Server::start().await;
    let body = json!({"job_type": "sync", "unique_key": "account-7", "unique_for": "active"});
    let first: JobResponse =
        expect(server.post_json("/jobs", &body).await, StatusCode::CREATED).await;
    assert_eq!(first.unique_key.as_deref(), Some("account-7"));
    let again: JobResponse = expect(server.post_json("/jobs", &body).await, StatusCode::OK).await;
    assert_eq!(again.id, first.id);
    for (bad, named) in [
        (
            json!({"job_type": "s", "unique_key": "k", "unique_for": "soon"}),
            "unique_for",
        ),
        (
            json!({"job_type": "s", "unique_for": "pending"}),
            "unique_key",
        ),
        (json!({"job_type": "s", "priority": 12}), "priority"),
        (json!({"job_type": "s", "queue": "a b"}), "queue name"),
    ] {
        let message = expect_error(
            server.post_json("/jobs", &bad).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
        )
        .await;
        assert!(message.contains(named), "{bad}: {message}");
    }
}

#[tokio::test]
async fn a_server_that_knows_the_job_types_refuses_jobs_that_can_never_run() {
    let mut registry = Registry::new();
    registry.register(Exec).unwrap();
    let registry = Arc::new(registry);
    let server = Server::start_with_state(HttpConfig::default(), move |state| {
        state.check_jobs(registry, ProgramAllowlist::only(["true"]))
    })
    .await;
    for (body, named) in [
        (json!({"job_type": "nosuch"}), "unknown job type \"nosuch\""),
        (
            json!({"job_type": "exec", "params": {"programm": "true"}}),
            "unknown field `programm`",
        ),
        (
            json!({"job_type": "exec", "params": {"program": "true", "cwd": "/\u{0}"}}),
            "cwd holds a NUL byte",
        ),
        (
            json!({"job_type": "exec", "params": {"program": "sh"}}),
            "program \"sh\" is not allowed",
        ),
    ] {
        let message = expect_error(
            server.post_json("/jobs", &body).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
        )
        .await;
        assert!(message.contains(named), "{body}: {message}");
    }
    let message = expect_error(
        server
            .put_json(
                "/cron/nightly",
                &json!({"job_type": "nosuch", "cron_expression": "0 2 * * *"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    )
    .await;
    assert!(message.contains("nosuch"), "{message}");
    assert_eq!(server.store.count_by_status().await.unwrap().total(), 0);
    let ok = json!({"job_type": "exec", "params": {"program": "true"}});
    expect::<JobResponse>(server.post_json("/jobs", &ok).await, StatusCode::CREATED).await;
}
