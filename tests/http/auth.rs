//! A configured bearer token is required on every request.

use jobstore::http::{ErrorCode, HttpConfig, StatsResponse};
use reqwest::header;
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::support::{expect, expect_error, Server};

const TOKEN: &str = "correct horse battery staple";

#[tokio::test]
async fn requests_without_the_token_get_401() {
    let server = Server::start_with(HttpConfig::default().token(TOKEN)).await;
    for path in [
        "/stats",
        "/jobs",
        "/healthz",
        "/metrics",
        "/",
        "/assets/app.js",
        "/nope",
    ] {
        let response = server.get(path).await;
        assert_eq!(
            response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap()),
            Some("Bearer"),
            "{path}"
        );
        expect_error(response, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    }
    let wrong = server
        .client
        .get(server.url("/stats"))
        .bearer_auth("correct horse battery stapler")
        .send()
        .await
        .unwrap();
    expect_error(wrong, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    let refused = server
        .client
        .post(server.url("/jobs"))
        .json(&serde_json::json!({"job_type": "a"}))
        .send()
        .await
        .unwrap();
    expect_error(refused, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;

    let right = server
        .client
        .get(server.url("/stats"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let stats: StatsResponse = expect(right, StatusCode::OK).await;
    assert_eq!(stats.total, 0, "the refused enqueue stored nothing");
}

#[tokio::test]
async fn a_browser_signs_in_once_and_then_carries_a_cookie() {
    let server = Server::start_with(HttpConfig::default().token(TOKEN)).await;
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(server.url("/"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.text().await.unwrap().contains(r#"action="/login""#));

    let refused = client
        .post(server.url("/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("token=guess")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("not right"));

    let signed_in = client
        .post(server.url("/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={}", TOKEN.replace(' ', "+")))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[header::LOCATION], "/");
    let cookie = signed_in.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(cookie.ends_with("Path=/"), "{cookie}");
    assert!(
        !cookie.contains(TOKEN),
        "the cookie does not show the token as is"
    );
    let value = cookie.split(';').next().unwrap().to_string();

    let dashboard = client
        .get(server.url("/"))
        .header(header::COOKIE, &value)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);
    let stats = client
        .get(server.url("/stats"))
        .header(header::COOKIE, &value)
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), StatusCode::OK);
}
