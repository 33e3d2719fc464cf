//! Enqueue, poll, list, cancel, retry, stats and health.

use jobstore::http::{
    CancelAction, CancelResponse, ErrorCode, HealthResponse, JobListResponse, JobResponse,
    StatsResponse,
};
use jobstore::{Failure, JobStatus, NewJob, Progress};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect, expect_error, id_of, Server};

#[tokio::test]
async fn enqueue_answers_201_with_the_job() {
    let server = Server::start().await;
    let body = json!({
        "job_type": "resize",
        "params": {"width": 640},
        "delay": "5m",
        "max_attempts": 3,
        "correlation_id": "album-7",
    });
    let job: serde_json::Value =
        expect(server.post_json("/jobs", &body).await, StatusCode::CREATED).await;
    assert_eq!(job["job_type"], "resize");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["params"], json!({"width": 640}));
    assert_eq!(job["max_attempts"], 3);
    assert_eq!(job["correlation_id"], "album-7");
    assert_eq!(job["progress"], serde_json::Value::Null);
    let job: JobResponse = serde_json::from_value(job).unwrap();
    assert_eq!((job.run_at - job.created_at).num_seconds(), 300);

    // A delay in seconds, and params defaulting to {}.
    let body = json!({"job_type": "resize", "delay": 90});
    let later: JobResponse =
        expect(server.post_json("/jobs", &body).await, StatusCode::CREATED).await;
    assert_eq!((later.run_at - later.created_at).num_seconds(), 90);
    assert_eq!(later.params, json!({}));

    let body = json!({"job_type": "resize", "run_at": "2030-01-02T03:04:05Z"});
    let at: JobResponse = expect(server.post_json("/jobs", &body).await, StatusCode::CREATED).await;
    assert_eq!(at.run_at.to_rfc3339(), "2030-01-02T03:04:05+00:00");
    let stored = server.store.get(at.id).await.unwrap();
    assert_eq!(stored.run_at, at.run_at);
}

#[tokio::test]
async fn polling_a_job_shows_its_stage_progress_position_and_outcome() {
    let server = Server::start().await;
    let first = server
        .store
        .create(NewJob::new("poll", json!({})))
        .await
        .unwrap();
    let second = server
        .store
        .create(NewJob::new("poll", json!({})))
        .await
        .unwrap();
    let path = |id: jobstore::JobId| format!("/jobs/{id}");

    let waiting: JobResponse = expect(server.get(&path(second.id)).await, StatusCode::OK).await;
    assert_eq!(waiting.status, JobStatus::Pending);
    assert_eq!(waiting.queue_position, Some(1));

    let claimed = server.claim("poll").await;
    assert_eq!(claimed.job.id, first.id);
    server
        .store
        .progress(&claimed.lease, &Progress::percent("encoding", 40.0))
        .await
        .unwrap();
    let running: serde_json::Value =
        expect(server.get(&path(first.id)).await, StatusCode::OK).await;
    assert_eq!(running["status"], "running");
    assert_eq!(running["stage"], "encoding");
    assert_eq!(running["progress"], 40.0);
    assert_eq!(running["queue_position"], serde_json::Value::Null);
    assert_eq!(running["attempt"], 1);
    assert!(running["started_at"].is_string());

    server
        .store
        .progress(&claimed.lease, &Progress::indeterminate("uploading"))
        .await
        .unwrap();
    let running: serde_json::Value =
        expect(server.get(&path(first.id)).await, StatusCode::OK).await;
    assert_eq!(running["stage"], "uploading");
    assert_eq!(
        running["progress"],
        serde_json::Value::Null,
        "no fake percent"
    );

    server
        .store
        .complete(&claimed.lease, json!({"out": "a.mp4"}))
        .await
        .unwrap();
    let done: JobResponse = expect(server.get(&path(first.id)).await, StatusCode::OK).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.result, Some(json!({"out": "a.mp4"})));
    assert!(done.completed_at.is_some());
    let next: JobResponse = expect(server.get(&path(second.id)).await, StatusCode::OK).await;
    assert_eq!(next.queue_position, Some(0));

    let unknown = jobstore::JobId::from(uuid::Uuid::now_v7());
    expect_error(
        server.get(&path(unknown)).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    let message = expect_error(
        server.get("/jobs/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidId,
    )
    .await;
    assert!(message.contains("not a job id"), "{message}");
}

#[tokio::test]
async fn cancel_says_what_happened() {
    let server = Server::start().await;
    let pending = server
        .store
        .create(NewJob::new("c", json!({})))
        .await
        .unwrap();
    let cancelled: CancelResponse = expect(
        server.post(&format!("/jobs/{}/cancel", pending.id)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled.outcome, CancelAction::Cancelled);
    assert_eq!(cancelled.job.status, JobStatus::Cancelled);

    let running = server
        .store
        .create(NewJob::new("c", json!({})))
        .await
        .unwrap();
    let claimed = server.claim("c").await;
    let requested: CancelResponse = expect(
        server.post(&format!("/jobs/{}/cancel", running.id)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(requested.outcome, CancelAction::CancelRequested);
    assert_eq!(requested.job.status, JobStatus::Running);
    assert!(requested.job.cancel_requested);
    server.store.mark_cancelled(&claimed.lease).await.unwrap();

    let message = expect_error(
        server.post(&format!("/jobs/{}/cancel", running.id)).await,
        StatusCode::CONFLICT,
        ErrorCode::AlreadyFinished,
    )
    .await;
    assert!(message.contains("already finished"), "{message}");
    let unknown = uuid::Uuid::now_v7();
    expect_error(
        server.post(&format!("/jobs/{unknown}/cancel")).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    expect_error(
        server.post("/jobs/42/cancel").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidId,
    )
    .await;
}

#[tokio::test]
async fn retry_enqueues_a_new_job_like_a_failed_one() {
    let server = Server::start().await;
    let job = server
        .store
        .create(NewJob::new("r", json!({"n": 1})).max_attempts(1))
        .await
        .unwrap();
    let claimed = server.claim("r").await;
    server
        .store
        .fail(&claimed.lease, &Failure::permanent("disk full"))
        .await
        .unwrap();
    let failed: JobResponse = expect(
        server.get(&format!("/jobs/{}", job.id)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(failed.error.as_deref(), Some("disk full"));

    let retried: JobResponse = expect(
        server.post(&format!("/jobs/{}/retry", job.id)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(retried.id, job.id);
    assert_eq!(retried.retry_of, Some(job.id));
    assert_eq!(retried.params, json!({"n": 1}));
    assert_eq!(retried.status, JobStatus::Pending);

    expect_error(
        server.post(&format!("/jobs/{}/retry", retried.id)).await,
        StatusCode::CONFLICT,
        ErrorCode::InvalidTransition,
    )
    .await;
    expect_error(
        server
            .post(&format!("/jobs/{}/retry", uuid::Uuid::now_v7()))
            .await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
}

#[tokio::test]
async fn list_filters_and_pages() {
    let server = Server::start().await;
    let mut ids = Vec::new();
    for (job_type, correlation) in [("a", "x"), ("b", "x"), ("a", "y"), ("a", "x")] {
        let body = json!({"job_type": job_type, "correlation_id": correlation});
        let job: serde_json::Value =
            expect(server.post_json("/jobs", &body).await, StatusCode::CREATED).await;
        ids.push(id_of(&job));
    }
    let claimed = server.claim("b").await;
    server
        .store
        .complete(&claimed.lease, json!(null))
        .await
        .unwrap();

    let all: JobListResponse = expect(server.get("/jobs").await, StatusCode::OK).await;
    let listed: Vec<_> = all.jobs.iter().map(|j| j.id).collect();
    assert_eq!(
        listed,
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    assert_eq!(all.next_cursor, None);

    let of_a: JobListResponse = expect(
        server.get("/jobs?type=a&correlation_id=x").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        of_a.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[3], ids[0]]
    );
    let done: JobListResponse =
        expect(server.get("/jobs?status=completed").await, StatusCode::OK).await;
    assert_eq!(done.jobs.len(), 1);
    assert_eq!(done.jobs[0].id, ids[1]);
    let pending: JobListResponse = expect(
        server.get("/jobs?status=pending&type=").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending.jobs.len(), 3);
    assert!(pending.jobs.iter().all(|j| j.queue_position.is_some()));

    let page: JobListResponse = expect(server.get("/jobs?limit=3").await, StatusCode::OK).await;
    assert_eq!(page.jobs.len(), 3);
    let cursor = page.next_cursor.expect("a second page");
    let rest: JobListResponse = expect(
        server.get(&format!("/jobs?limit=3&cursor={cursor}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        rest.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert_eq!(rest.next_cursor, None);

    let message = expect_error(
        server.get("/jobs?status=done").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidQuery,
    )
    .await;
    assert!(message.contains("unknown job status"), "{message}");
    expect_error(
        server.get("/jobs?limit=many").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidQuery,
    )
    .await;
    expect_error(
        server.get("/jobs?limit=0").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    )
    .await;
    expect_error(
        server.get("/jobs?cursor=abc").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidId,
    )
    .await;
    let message = expect_error(
        server.get("/jobs?staus=pending").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidQuery,
    )
    .await;
    assert!(message.contains("staus"), "{message}");
}

#[tokio::test]
async fn stats_count_by_status_and_type() {
    let server = Server::start().await;
    for job_type in ["mail", "mail", "thumb"] {
        server
            .store
            .create(NewJob::new(job_type, json!({})))
            .await
            .unwrap();
    }
    let claimed = server.claim("thumb").await;
    server
        .store
        .complete(&claimed.lease, json!(1))
        .await
        .unwrap();

    let stats: StatsResponse = expect(server.get("/stats").await, StatusCode::OK).await;
    assert_eq!(stats.total, 3);
    assert_eq!(stats.by_status.pending, 2);
    assert_eq!(stats.by_status.completed, 1);
    assert_eq!(stats.by_type["mail"].pending, 2);
    assert_eq!(stats.by_type["thumb"].completed, 1);
}

#[tokio::test]
async fn stats_count_every_job_however_many() {
    let server = Server::start().await;
    let old: Vec<NewJob> = (0..1500).map(|_| NewJob::new("old", json!({}))).collect();
    server.store.create_many(old).await.unwrap();
    let new: Vec<NewJob> = (0..20).map(|_| NewJob::new("new", json!({}))).collect();
    server.store.create_many(new).await.unwrap();
    let stats: StatsResponse = expect(server.get("/stats").await, StatusCode::OK).await;
    assert_eq!(stats.total, 1520);
    assert_eq!(
        stats.by_type["old"].pending, 1500,
        "old jobs are counted too"
    );
    assert_eq!(stats.by_type["new"].pending, 20);
}

#[tokio::test]
async fn health_answers_ok_while_the_store_answers() {
    let server = Server::start().await;
    let health: HealthResponse = expect(server.get("/healthz").await, StatusCode::OK).await;
    assert_eq!(health.status, "ok");
    assert!(health.store_ok);
    assert_eq!(health.worker_ok, None);
    server.stop().await;
}
