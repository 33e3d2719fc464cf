//! The JSON bodies of `POST /jobs` and `PUT /cron/{name}` (and the name),
//! sent through the real router to a fresh in-memory store.
//!
//! Input: the first byte picks the endpoint; for `PUT /cron/{name}` the
//! next byte gives the name's length (0 to 31) and that many bytes,
//! percent-encoded, are the name; the rest is the body.
//!
//! Checks: never a panic and never a 5xx; every 4xx is a JSON error with a
//! code and a message; every 2xx is JSON, and what it created can be read
//! back (`GET /jobs/{id}`, `GET /cron/{name}`).

#![no_main]

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use jobstore::http::{router, HttpState};
use jobstore::MemoryStore;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
});

/// Sends one request; the status and the body as JSON (or the reason it
/// is not JSON).
async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> (StatusCode, Result<serde_json::Value, String>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a readable body");
    let json = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (method, uri, body) = if selector % 2 == 0 {
        ("POST", "/jobs".to_string(), rest)
    } else {
        let Some((&len, rest)) = rest.split_first() else {
            return;
        };
        let len = usize::from(len % 32).min(rest.len());
        let (name, body) = rest.split_at(len);
        ("PUT", format!("/cron/{}", percent_encode(name)), body)
    };
    RUNTIME.block_on(async {
        let app = router(HttpState::new(Arc::new(MemoryStore::new())));
        let (status, json) = send(&app, method, &uri, body.to_vec()).await;
        let shown = || format!("{method} {uri} {:?}", String::from_utf8_lossy(body));
        assert!(
            status.is_success() || status.is_client_error(),
            "{status} for {}: {json:?}",
            shown()
        );
        let json = json.unwrap_or_else(|e| panic!("{status} for {}: not JSON: {e}", shown()));
        if status.is_client_error() {
            assert!(
                json["error"]["code"].is_string() && json["error"]["message"].is_string(),
                "{status} for {}: {json}",
                shown()
            );
            return;
        }
        let read_back = if method == "POST" {
            let id = json["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no id in {json} for {}", shown()));
            format!("/jobs/{id}")
        } else {
            uri.clone()
        };
        let (again, stored) = send(&app, "GET", &read_back, Vec::new()).await;
        assert_eq!(
            again,
            StatusCode::OK,
            "{read_back} after {}: {stored:?}",
            shown()
        );
    });
});
