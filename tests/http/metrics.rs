//! `GET /metrics` in the Prometheus text format.

use jobstore::{Failure, NewJob};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::Server;

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_what_the_store_did() {
    // The recorder is global to the test process: this test's job types
    // are its own, so other tests' counts do not show here.
    let server = Server::start().await;
    let body = json!({"job_type": "metrics_ok"});
    assert_eq!(
        server.post_json("/jobs", &body).await.status(),
        StatusCode::CREATED
    );
    server
        .store
        .create(NewJob::new("metrics_bad", json!({})).max_attempts(2))
        .await
        .unwrap();

    let ok = server.claim("metrics_ok").await;
    server.store.complete(&ok.lease, json!(1)).await.unwrap();
    let bad = server.claim("metrics_bad").await;
    server
        .store
        .fail(&bad.lease, &Failure::transient("flaky"))
        .await
        .unwrap();
    let bad = server.claim("metrics_bad").await;
    server
        .store
        .fail(&bad.lease, &Failure::transient("flaky"))
        .await
        .unwrap();
    let retry = server.post(&format!("/jobs/{}/retry", bad.job.id)).await;
    assert_eq!(retry.status(), StatusCode::CREATED);

    let response = server.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in:\n{text}"));

    assert_eq!(
        value(r#"jobstore_jobs_enqueued_total{job_type="metrics_ok"}"#),
        1.0
    );
    assert_eq!(
        value(r#"jobstore_jobs_enqueued_total{job_type="metrics_bad"}"#),
        2.0
    );
    assert_eq!(
        value(r#"jobstore_jobs_claimed_total{job_type="metrics_bad"}"#),
        2.0
    );
    assert_eq!(
        value(r#"jobstore_jobs_completed_total{job_type="metrics_ok"}"#),
        1.0
    );
    assert_eq!(
        value(r#"jobstore_jobs_retried_total{job_type="metrics_bad"}"#),
        1.0
    );
    assert_eq!(
        value(r#"jobstore_jobs_failed_total{job_type="metrics_bad"}"#),
        1.0
    );
    assert_eq!(
        value(r#"jobstore_job_run_seconds_count{job_type="metrics_ok"}"#),
        1.0
    );
    assert_eq!(
        value(r#"jobstore_job_run_seconds_count{job_type="metrics_bad"}"#),
        2.0
    );
    assert!(text.contains(r#"jobstore_job_run_seconds_bucket{job_type="metrics_ok",le="0.5"}"#));
    assert!(
        text.contains("# TYPE jobstore_jobs_enqueued_total counter"),
        "{text}"
    );
    assert!(
        text.contains("# HELP jobstore_jobs_completed_total"),
        "{text}"
    );
    assert_eq!(
        value(r#"jobstore_jobs_by_type{job_type="metrics_bad",status="pending"}"#),
        1.0
    );
    assert_eq!(
        value(r#"jobstore_jobs_by_type{job_type="metrics_ok",status="completed"}"#),
        1.0
    );
    assert!(text.contains(r#"jobstore_jobs{status="failed"}"#), "{text}");
}

#[tokio::test]
async fn jobs_the_rescuer_fails_count_as_failed() {
    let server = Server::start().await;
    server
        .store
        .create(NewJob::new("metrics_rescued", json!({})).max_attempts(1))
        .await
        .unwrap();
    // A worker claims it with a short lease and dies.
    let request = jobstore::ClaimRequest::new("dead-worker", 1)
        .job_types(["metrics_rescued"])
        .lease_duration(std::time::Duration::from_millis(1));
    let claimed = server.store.claim(&request).await.unwrap().remove(0);
    let expires = claimed.job.lease_expires_at.unwrap();
    while chrono::Utc::now() <= expires + chrono::Duration::milliseconds(1) {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let rescued = server.store.rescue_expired().await.unwrap();
    assert_eq!(rescued.failed_by_type["metrics_rescued"], 1);

    let text = server.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            r#"jobstore_jobs_failed_total{job_type="metrics_rescued"}"#
        ),
        Some(1.0),
        "{text}"
    );
}
