//! Refused requests: a JSON error with a stable code, and nothing stored.

use jobstore::http::{ErrorCode, HttpConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect_error, Server};

async fn post_raw(server: &Server, body: &str, content_type: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/jobs"))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_problem_and_store_nothing() {
    let server = Server::start_with(HttpConfig::default().body_limit(1024)).await;
    let json_type = "application/json";

    let message = expect_error(
        post_raw(&server, r#"{"job_type": "#, json_type).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::MalformedJson,
    )
    .await;
    assert!(message.contains("line 1 column"), "{message}");
    let message = expect_error(
        post_raw(&server, r#"{"job_type": "a"} trailing"#, json_type).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::MalformedJson,
    )
    .await;
    assert!(message.contains("trailing"), "{message}");

    let cases = [
        (json!({"params": {}}), "job_type"),
        (json!({"job_type": "a", "dealy": "5s"}), "dealy"),
        (json!({"job_type": "a", "delay": "soon"}), "delay"),
        (json!({"job_type": "a", "delay": -3}), "negative"),
        (
            json!({"job_type": "a", "max_attempts": "three"}),
            "max_attempts",
        ),
        (json!({"job_type": "a", "max_attempts": 0}), "max_attempts"),
        (json!({"job_type": "a", "run_at": "tomorrow"}), "run_at"),
        (
            json!({"job_type": "a", "run_at": "2030-01-01T00:00:00Z", "delay": 5}),
            "not both",
        ),
        (json!({"job_type": ""}), "job type"),
        (
            json!("text"),
            "a job (an object with job_type) or an array of them",
        ),
    ];
    for (body, named) in cases {
        let response = post_raw(&server, &body.to_string(), json_type).await;
        let message =
            expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest).await;
        assert!(message.contains(named), "{body}: {message}");
    }

    expect_error(
        post_raw(&server, r#"{"job_type": "a"}"#, "text/plain").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UnsupportedMediaType,
    )
    .await;

    let big = json!({"job_type": "a", "params": {"blob": "x".repeat(2000)}});
    expect_error(
        post_raw(&server, &big.to_string(), json_type).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
    )
    .await;

    assert_eq!(server.store.count_by_status().await.unwrap().total(), 0);
}

#[tokio::test]
async fn unknown_endpoints_and_methods_answer_json() {
    let server = Server::start().await;
    expect_error(
        server.get("/nope").await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    let response = server
        .client
        .delete(server.url("/jobs"))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
    )
    .await;
    expect_error(
        server.post("/stats").await,
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
    )
    .await;
}
