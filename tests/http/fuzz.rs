//! A seeded fuzz of the JSON endpoints over a real socket: arbitrary bytes
//! and mutated valid bodies get a 2xx or a 4xx JSON error, never a 5xx, and
//! the server keeps answering.

use reqwest::StatusCode;

use crate::support::Server;

const VALID: &[(&str, &str)] = &[
    (
        "/jobs",
        r#"{"job_type": "resize", "params": {"w": 640}, "delay": "5m", "max_attempts": 3}"#,
    ),
    (
        "/cron/nightly",
        r#"{"job_type": "report", "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin"}"#,
    ),
];

/// Bytes that matter to JSON.
const JSON_BYTES: &[u8] = b"{}[]\\\",:0-e ";

/// `body` with a few random bytes replaced, inserted or removed.
fn mutate(rng: &mut fastrand::Rng, body: &str) -> Vec<u8> {
    let mut bytes = body.as_bytes().to_vec();
    for _ in 0..rng.usize(1..6) {
        let at = rng.usize(..=bytes.len());
        match rng.u8(..3) {
            0 if at < bytes.len() => bytes[at] = rng.u8(..),
            1 => bytes.insert(at, JSON_BYTES[rng.usize(..JSON_BYTES.len())]),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}

#[tokio::test]
async fn arbitrary_bodies_get_a_clear_answer_and_never_a_server_error() {
    let server = Server::start().await;
    let mut rng = fastrand::Rng::with_seed(0x6a6f6273);
    for round in 0..1500 {
        let (path, valid) = VALID[round % VALID.len()];
        let body = if round % 3 == 0 {
            (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect()
        } else {
            mutate(&mut rng, valid)
        };
        let request = if path.starts_with("/cron") {
            server.client.put(server.url(path))
        } else {
            server.client.post(server.url(path))
        };
        let response = request
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(
            status.is_success() || status.is_client_error(),
            "{status} for {:?}: {text}",
            String::from_utf8_lossy(&body)
        );
        if status.is_client_error() {
            let error: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{e}: not a JSON error: {text}"));
            assert!(error["error"]["message"].is_string(), "{text}");
        }
    }
    assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);
}
