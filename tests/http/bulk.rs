//! `POST /jobs/bulk`: retry, cancel or delete every job a filter matches.

use jobstore::http::ErrorCode;
use jobstore::{BulkOutcome, Failure, JobStatus, NewJob};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect, expect_error, Server};

#[tokio::test]
async fn a_bulk_action_changes_exactly_the_matching_jobs() {
    let server = Server::start().await;
    let store = &server.store;
    for n in 0..3 {
        store
            .create(NewJob::new("render", json!({ "n": n })).correlation_id("batch-7"))
            .await
            .unwrap();
        let claimed = server.claim("render").await;
        store
            .fail(&claimed.lease, &Failure::permanent("codec missing"))
            .await
            .unwrap();
    }
    let other = store.create(NewJob::new("email", json!({}))).await.unwrap();

    let body = json!({
        "action": "retry",
        "filter": { "statuses": ["failed"], "job_type": "render" },
        "dry_run": true,
    });
    let preview: BulkOutcome =
        expect(server.post_json("/jobs/bulk", &body).await, StatusCode::OK).await;
    assert!(preview.dry_run);
    assert_eq!((preview.matched, preview.applied), (3, 3));
    let pending = store
        .count_by_status()
        .await
        .unwrap()
        .get(JobStatus::Pending);
    assert_eq!(pending, 1, "a dry run changes nothing");

    let body = json!({ "action": "retry", "filter": { "correlation_id": "batch-7" } });
    let retried: BulkOutcome =
        expect(server.post_json("/jobs/bulk", &body).await, StatusCode::OK).await;
    assert_eq!(
        (retried.matched, retried.applied, retried.skipped),
        (3, 3, 0)
    );
    let counts = store.count_by_status().await.unwrap();
    assert_eq!((counts.pending, counts.failed), (4, 3));

    let body =
        json!({ "action": "cancel", "filter": { "statuses": ["pending"], "job_type": "render" } });
    let cancelled: BulkOutcome =
        expect(server.post_json("/jobs/bulk", &body).await, StatusCode::OK).await;
    assert_eq!(cancelled.applied, 3);
    assert_eq!(
        store.get(other.id).await.unwrap().status,
        JobStatus::Pending,
        "another type is untouched"
    );

    let body = json!({ "action": "delete", "filter": { "job_type": "render" } });
    let deleted: BulkOutcome =
        expect(server.post_json("/jobs/bulk", &body).await, StatusCode::OK).await;
    assert_eq!(deleted.applied, 6);
    assert_eq!(store.count_by_status().await.unwrap().total(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_bulk_request_is_refused_and_changes_nothing() {
    let server = Server::start().await;
    let job = server
        .store
        .create(NewJob::new("render", json!({})))
        .await
        .unwrap();
    let cases = [
        // A misspelt criterion must not widen the filter to every job.
        (
            json!({ "action": "delete", "filter": { "stauses": ["failed"] } }),
            "stauses",
        ),
        (
            json!({ "action": "delete", "filter": {} }),
            "at least one filter",
        ),
        (
            json!({ "action": "purge", "filter": { "job_type": "render" } }),
            "purge",
        ),
        (
            json!({ "action": "cancel", "filter": { "statuses": ["done"] } }),
            "done",
        ),
        (
            json!({ "action": "cancel", "filter": { "queue": "a b" } }),
            "queue name",
        ),
        (
            json!({ "action": "cancel", "filter": { "created_before": "yesterday" } }),
            "created_before",
        ),
    ];
    for (body, named) in cases {
        let message = expect_error(
            server.post_json("/jobs/bulk", &body).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
        )
        .await;
        assert!(message.contains(named), "{body}: {message}");
    }
    assert_eq!(server.store.get(job.id).await.unwrap(), job);
    server.stop().await;
}

#[tokio::test]
async fn a_batch_enqueue_creates_every_job_or_none() {
    let server = Server::start().await;
    let body = json!([
        { "job_type": "render", "params": { "n": 1 }, "queue": "video" },
        { "job_type": "render", "params": { "n": 2 }, "priority": 1 },
        { "job_type": "email", "unique_key": "welcome-7" },
        { "job_type": "email", "unique_key": "welcome-7" },
    ]);
    let jobs: Vec<jobstore::http::JobResponse> =
        expect(server.post_json("/jobs", &body).await, StatusCode::CREATED).await;
    assert_eq!(jobs.len(), 4, "one answer per job, in order");
    assert_eq!(jobs[0].params, json!({ "n": 1 }));
    assert_eq!(jobs[0].queue, "video");
    assert_eq!(jobs[1].priority, 1);
    assert_eq!(
        jobs[2].id, jobs[3].id,
        "a key held in the batch answers with its holder"
    );
    assert_eq!(server.store.count_by_status().await.unwrap().total(), 3);

    for (body, named) in [
        (
            json!([{ "job_type": "render" }, { "job_type": "render", "priority": 12 }]),
            "job 1",
        ),
        (
            json!([{ "job_type": "render" }, { "job_tpye": "render" }]),
            "job_tpye",
        ),
        (json!([]), "1 to 10000"),
    ] {
        let message = expect_error(
            server.post_json("/jobs", &body).await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
        )
        .await;
        assert!(message.contains(named), "{body}: {message}");
    }
    assert_eq!(
        server.store.count_by_status().await.unwrap().total(),
        3,
        "a refused batch stores nothing"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_jobs_attempts_are_served_first_to_last() {
    let server = Server::start().await;
    let job = server
        .store
        .create(NewJob::new("render", json!({})).max_attempts(3))
        .await
        .unwrap();
    let first = server.claim("render").await;
    server
        .store
        .fail(&first.lease, &Failure::transient("disk full\nat /dev/sda1"))
        .await
        .unwrap();
    let attempts: Vec<jobstore::AttemptRecord> = expect(
        server.get(&format!("/jobs/{}/attempts", job.id)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, jobstore::AttemptEnd::Retried);
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("disk full\nat /dev/sda1")
    );
    let unknown = jobstore::JobId::new_at(chrono::Utc::now());
    expect_error(
        server.get(&format!("/jobs/{unknown}/attempts")).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn the_workers_are_served() {
    let server = Server::start().await;
    let info = jobstore::WorkerInfo {
        id: "w-1".into(),
        host: "box".into(),
        pid: 42,
        queues: [("default".to_string(), 4)].into_iter().collect(),
        version: "9.9.9".into(),
        lease: std::time::Duration::from_secs(30),
    };
    server.store.announce_worker(&info).await.unwrap();
    let workers: Vec<jobstore::WorkerRecord> =
        expect(server.get("/workers").await, StatusCode::OK).await;
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0].info, info);
    assert!(workers[0].alive);
    server.stop().await;
}
