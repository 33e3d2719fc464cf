//! The cron schedule endpoints.

use jobstore::cron::CronSchedule;
use jobstore::http::ErrorCode;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect, expect_error, Server};

#[tokio::test]
async fn schedules_are_declared_listed_toggled_and_deleted() {
    let server = Server::start().await;
    let body = json!({
        "job_type": "report",
        "cron_expression": "30 2 * * *",
        "timezone": "Europe/Berlin",
        "params": {"format": "pdf"},
        "max_attempts": 3
    });
    let declared: CronSchedule = expect(
        server.put_json("/cron/nightly", &body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(declared.name, "nightly");
    assert_eq!(declared.timezone, "Europe/Berlin");
    assert_eq!(declared.params, json!({"format": "pdf"}));
    assert!(declared.enabled);
    // Declaring the same again is idempotent.
    let again: CronSchedule = expect(
        server.put_json("/cron/nightly", &body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again.next_run_at, declared.next_run_at);

    let listed: Vec<CronSchedule> = expect(server.get("/cron").await, StatusCode::OK).await;
    assert_eq!(listed.len(), 1);
    let one: CronSchedule = expect(server.get("/cron/nightly").await, StatusCode::OK).await;
    assert_eq!(one.name, "nightly");

    let disabled: CronSchedule =
        expect(server.post("/cron/nightly/disable").await, StatusCode::OK).await;
    assert!(!disabled.enabled);
    let enabled: CronSchedule =
        expect(server.post("/cron/nightly/enable").await, StatusCode::OK).await;
    assert!(enabled.enabled);

    let deleted = server
        .client
        .delete(server.url("/cron/nightly"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let message = expect_error(
        server.get("/cron/nightly").await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    assert!(
        message.contains("cron schedule \"nightly\" not found"),
        "{message}"
    );
    expect_error(
        server.post("/cron/nightly/enable").await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_problem_and_store_nothing() {
    let server = Server::start().await;
    let cases = [
        (
            json!({"job_type": "report", "cron_expression": "61 * * * *"}),
            ErrorCode::InvalidRequest,
            "\"61 * * * *\" is not valid",
        ),
        (
            json!({"job_type": "report", "cron_expression": "0 9 * * *", "timezone": "Berlin"}),
            ErrorCode::InvalidRequest,
            "unknown timezone \"Berlin\"",
        ),
        (
            json!({"job_type": "report", "cron_expression": "0 9 * * *", "every": "day"}),
            ErrorCode::InvalidRequest,
            "unknown field `every`",
        ),
        (
            json!({"cron_expression": "0 9 * * *"}),
            ErrorCode::InvalidRequest,
            "job_type",
        ),
    ];
    for (body, code, expected) in cases {
        let message = expect_error(
            server.put_json("/cron/bad", &body).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
    let listed: Vec<CronSchedule> = expect(server.get("/cron").await, StatusCode::OK).await;
    assert!(listed.is_empty());
}

/// Found by the `http_bodies` fuzz target: a name that percent-decodes to
/// invalid UTF-8 got axum's plain-text 400, not the API's JSON error.
#[tokio::test]
async fn a_name_that_is_not_utf8_is_refused_with_a_json_error() {
    let server = Server::start().await;
    let body = json!({"job_type": "report", "cron_expression": "30 2 * * *"});
    let path = "/cron/%FF%61";
    let responses = [
        server.put_json(path, &body).await,
        server.get(path).await,
        server.post(&format!("{path}/enable")).await,
        server.post(&format!("{path}/disable")).await,
        server.client.delete(server.url(path)).send().await.unwrap(),
    ];
    for response in responses {
        let message =
            expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest).await;
        assert!(message.contains("schedule name"), "{message}");
    }
    let listed: Vec<CronSchedule> = expect(server.get("/cron").await, StatusCode::OK).await;
    assert!(listed.is_empty(), "{listed:?}");
}
