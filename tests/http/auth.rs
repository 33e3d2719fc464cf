//! A configured bearer token is required on every request (but
//! `/healthz`'s up or down); a read-only token may only watch.

use jobstore::http::{ErrorCode, HealthResponse, HttpConfig, StatsResponse};
use reqwest::header;
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{expect, expect_error, Server, DEADLINE};

const TOKEN: &str = "correct horse battery staple";

#[tokio::test]
async fn requests_without_the_token_get_401() {
    let server = Server::start_with(HttpConfig::default().token(TOKEN)).await;
    for path in [
        "/stats",
        "/jobs",
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

const VIEWER: &str = "look but do not touch";

/// A server with both tokens.
async fn two_token_server() -> Server {
    Server::start_with(
        HttpConfig::default()
            .token(TOKEN)
            .read_only_token(VIEWER)
            .events_interval(std::time::Duration::from_millis(20)),
    )
    .await
}

/// A request with `token` as its bearer token, and `body` as JSON if any.
async fn send(
    server: &Server,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = server
        .client
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// A client that does not follow redirects, as a browser's sign-in is
/// checked step by step.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(client: &reqwest::Client, server: &Server, form: &str) -> reqwest::Response {
    client
        .post(server.url("/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap()
}

fn form_value(text: &str) -> String {
    text.replace(' ', "+")
}

/// Every request that changes something, for the job `id`, the queue
/// `video` and the schedule `nightly`.
fn changes(id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            "/jobs".into(),
            Some(json!({"job_type": "mail", "queue": "video"})),
        ),
        (
            Method::POST,
            "/jobs/bulk".into(),
            Some(json!({"action": "cancel", "filter": {"statuses": ["pending"]}})),
        ),
        (Method::POST, format!("/jobs/{id}/cancel"), None),
        (Method::POST, format!("/jobs/{id}/retry"), None),
        (Method::POST, "/queues/video/pause".into(), None),
        (
            Method::PUT,
            "/queues/video/limit".into(),
            Some(json!({"concurrency_limit": 1})),
        ),
        (
            Method::PUT,
            "/cron/nightly".into(),
            Some(json!({"job_type": "report", "cron_expression": "0 5 * * *"})),
        ),
        (
            Method::PUT,
            "/cron/weekly".into(),
            Some(json!({"job_type": "report", "cron_expression": "0 5 * * 1"})),
        ),
        (Method::POST, "/cron/nightly/enable".into(), None),
        (Method::DELETE, "/cron/nightly".into(), None),
    ]
}

#[tokio::test]
async fn a_read_only_token_may_watch_everything() {
    let server = two_token_server().await;
    let job: Value = expect(
        send(
            &server,
            Method::POST,
            "/jobs",
            TOKEN,
            Some(&json!({"job_type": "mail", "queue": "video"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = job["id"].as_str().unwrap().to_string();
    for path in [
        "/jobs".to_string(),
        format!("/jobs/{id}"),
        format!("/jobs/{id}/attempts"),
        "/stats".into(),
        "/queues".into(),
        "/queues/video".into(),
        "/workers".into(),
        "/cron".into(),
        "/metrics".into(),
        "/healthz".into(),
    ] {
        let response = send(&server, Method::GET, &path, VIEWER, None).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        let head = send(&server, Method::HEAD, &path, VIEWER, None).await;
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
    }
    let stats: StatsResponse = expect(
        send(&server, Method::GET, "/stats", VIEWER, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stats.total, 1);
    let health: HealthResponse = expect(
        send(&server, Method::GET, "/healthz", VIEWER, None).await,
        StatusCode::OK,
    )
    .await;
    assert!(health.store_ok, "a viewer sees the detail too");

    // The event streams open and send their first event.
    for path in ["/events".to_string(), format!("/jobs/{id}/events")] {
        let mut stream = send(&server, Method::GET, &path, VIEWER, None).await;
        assert_eq!(stream.status(), StatusCode::OK, "{path}");
        let kind = stream.headers()[header::CONTENT_TYPE].to_str().unwrap();
        assert!(kind.starts_with("text/event-stream"), "{path}: {kind}");
        let first = tokio::time::timeout(DEADLINE, stream.chunk())
            .await
            .expect("a first event")
            .unwrap()
            .expect("a first event");
        let first = String::from_utf8_lossy(&first).into_owned();
        assert!(first.contains("event:"), "{path}: {first}");
    }
}

#[tokio::test]
async fn a_read_only_token_changes_nothing_and_the_operator_token_everything() {
    let server = two_token_server().await;
    let job: Value = expect(
        send(
            &server,
            Method::POST,
            "/jobs",
            TOKEN,
            Some(&json!({"job_type": "mail", "queue": "video"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = job["id"].as_str().unwrap().to_string();
    let nightly = json!({"job_type": "report", "cron_expression": "30 2 * * *"});
    let declared = send(&server, Method::PUT, "/cron/nightly", TOKEN, Some(&nightly)).await;
    assert_eq!(declared.status(), StatusCode::OK);
    let disabled = send(&server, Method::POST, "/cron/nightly/disable", TOKEN, None).await;
    assert_eq!(disabled.status(), StatusCode::OK);

    for (method, path, body) in changes(&id) {
        let response = send(&server, method.clone(), &path, VIEWER, body.as_ref()).await;
        let message = expect_error(response, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;
        assert!(
            message.contains("operator token") && message.contains(&format!("{method} {path}")),
            "{method} {path}: {message}"
        );
    }
    // Even a body that would be refused is refused for the token first.
    let malformed = server
        .client
        .post(server.url("/jobs"))
        .bearer_auth(VIEWER)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;

    // Nothing changed.
    let look = |path: String| {
        let server = &server;
        async move {
            expect::<Value>(
                send(server, Method::GET, &path, TOKEN, None).await,
                StatusCode::OK,
            )
            .await
        }
    };
    assert_eq!(look(format!("/jobs/{id}")).await["status"], "pending");
    let stats: StatsResponse = serde_json::from_value(look("/stats".into()).await).unwrap();
    assert_eq!((stats.total, stats.by_status.pending), (1, 1));
    let queue = look("/queues/video".into()).await;
    assert_eq!(queue["paused"], false, "{queue}");
    assert_eq!(queue["concurrency_limit"], Value::Null, "{queue}");
    let schedules = look("/cron".into()).await;
    assert_eq!(schedules.as_array().unwrap().len(), 1, "{schedules}");
    let schedule = look("/cron/nightly".into()).await;
    assert_eq!(schedule["enabled"], false, "{schedule}");
    assert_eq!(schedule["cron_expression"], "30 2 * * *", "{schedule}");

    // The operator token does all of it.
    let expected = [
        StatusCode::CREATED,    // POST /jobs
        StatusCode::OK,         // POST /jobs/bulk: cancels both pending jobs
        StatusCode::CONFLICT,   // POST /jobs/{id}/cancel: already cancelled
        StatusCode::CREATED,    // POST /jobs/{id}/retry
        StatusCode::OK,         // POST /queues/video/pause
        StatusCode::OK,         // PUT /queues/video/limit
        StatusCode::OK,         // PUT /cron/nightly
        StatusCode::OK,         // PUT /cron/weekly
        StatusCode::OK,         // POST /cron/nightly/enable
        StatusCode::NO_CONTENT, // DELETE /cron/nightly
    ];
    for ((method, path, body), status) in changes(&id).into_iter().zip(expected) {
        let response = send(&server, method.clone(), &path, TOKEN, body.as_ref()).await;
        let actual = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(actual, status, "{method} {path}: {text}");
    }
    let queue = look("/queues/video".into()).await;
    assert_eq!(queue["paused"], true, "{queue}");
    assert_eq!(queue["concurrency_limit"], 1, "{queue}");
    let schedules = look("/cron".into()).await;
    let names: Vec<&str> = schedules
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["weekly"]);
    let stats: StatsResponse = serde_json::from_value(look("/stats".into()).await).unwrap();
    assert_eq!(
        (
            stats.total,
            stats.by_status.cancelled,
            stats.by_status.pending
        ),
        (3, 2, 1),
        "two cancelled by the bulk action, one retried"
    );
}

#[tokio::test]
async fn the_sign_in_takes_the_read_only_token_too() {
    let server = two_token_server().await;
    let client = browser();
    let signed_in = sign_in(&client, &server, &format!("token={}", form_value(VIEWER))).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[header::LOCATION], "/");
    let cookie = signed_in.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(!cookie.contains(VIEWER), "{cookie}");
    let value = cookie.split(';').next().unwrap().to_string();

    let page = client
        .get(server.url("/"))
        .header(header::COOKIE, &value)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let stats = client
        .get(server.url("/stats"))
        .header(header::COOKIE, &value)
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), StatusCode::OK);
    let refused = client
        .post(server.url("/jobs"))
        .header(header::COOKIE, &value)
        .json(&json!({"job_type": "mail"}))
        .send()
        .await
        .unwrap();
    let message = expect_error(refused, StatusCode::FORBIDDEN, ErrorCode::Forbidden).await;
    assert!(message.contains("operator token"), "{message}");
    assert_eq!(server.store.count_by_status().await.unwrap().total(), 0);

    // Signing in again with the operator token replaces the cookie.
    let operator = sign_in(&client, &server, &format!("token={}", form_value(TOKEN))).await;
    assert_eq!(operator.status(), StatusCode::SEE_OTHER);
    let cookie = operator.headers()[header::SET_COOKIE].to_str().unwrap();
    let value = cookie.split(';').next().unwrap().to_string();
    let created = client
        .post(server.url("/jobs"))
        .header(header::COOKIE, &value)
        .json(&json!({"job_type": "mail"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_sign_in_goes_back_to_the_page_asked_for() {
    let server = two_token_server().await;
    let client = browser();
    let wanted = "/jobs/0198c0de-0000-7000-8000-000000000001";
    // Any page a browser asks for without a token shows the sign-in form,
    // which remembers the page.
    for (path, next) in [
        (wanted, wanted),
        ("/queues", "/queues"),
        (
            "/jobs?status=failed&limit=5",
            "/jobs?status=failed&amp;limit=5",
        ),
        ("/", "/"),
    ] {
        let page = client
            .get(server.url(path))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::UNAUTHORIZED, "{path}");
        let html = page.text().await.unwrap();
        assert!(html.contains(r#"action="/login""#), "{path}: {html}");
        assert!(
            html.contains(&format!(r#"name="next" value="{next}""#)),
            "{path}: {html}"
        );
    }
    // Not for programs: they get JSON.
    let json_refusal = client.get(server.url(wanted)).send().await.unwrap();
    expect_error(
        json_refusal,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;

    for token in [TOKEN, VIEWER] {
        let form = format!("token={}&next={wanted}", form_value(token));
        let signed_in = sign_in(&client, &server, &form).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(signed_in.headers()[header::LOCATION], wanted);
    }
    // A wrong token shows the form again, still going back to the page.
    let refused = sign_in(&client, &server, &format!("token=guess&next={wanted}")).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let html = refused.text().await.unwrap();
    assert!(html.contains("not right"), "{html}");
    assert!(
        html.contains(&format!(r#"name="next" value="{wanted}""#)),
        "{html}"
    );

    // Anything that could lead elsewhere goes to the dashboard instead.
    for hostile in [
        "//evil.example",
        "https://evil.example",
        "/\\evil",
        "/\\/evil.example",
        "evil.example",
        "/%0d%0aSet-Cookie:x=1",
        "/\r\nSet-Cookie:x=1",
        "/\t/evil.example",
    ] {
        let encoded: String = hostile.bytes().map(|b| format!("%{b:02X}")).collect();
        let form = format!("token={}&next={encoded}", form_value(TOKEN));
        let signed_in = sign_in(&client, &server, &form).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "{hostile:?}");
        let location = &signed_in.headers()[header::LOCATION];
        let expected = if hostile.starts_with("/%0d") {
            // Percent-encoded, it is a harmless path here.
            hostile
        } else {
            "/"
        };
        assert_eq!(location, expected, "{hostile:?}");
    }
    let long = format!("/{}", "a".repeat(2_000));
    let signed_in = sign_in(
        &client,
        &server,
        &format!("token={}&next={long}", form_value(TOKEN)),
    )
    .await;
    assert_eq!(signed_in.headers()[header::LOCATION], "/");
}

#[tokio::test]
async fn healthz_says_up_or_down_to_anyone_and_more_with_a_token() {
    let server = two_token_server().await;
    let anonymous = server.get("/healthz").await;
    assert_eq!(anonymous.status(), StatusCode::OK);
    assert_eq!(anonymous.text().await.unwrap(), r#"{"status":"ok"}"#);
    let head = server
        .client
        .head(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    expect_error(
        server.get("/jobs").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
    for token in [TOKEN, VIEWER] {
        let detailed = send(&server, Method::GET, "/healthz", token, None).await;
        let health: HealthResponse = expect(detailed, StatusCode::OK).await;
        assert_eq!(health.status, "ok");
        assert!(health.store_ok);
        assert_eq!(health.worker_ok, None);
    }
    // A wrong token is refused here as everywhere.
    let wrong = send(&server, Method::GET, "/healthz", "guess", None).await;
    expect_error(wrong, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    // Without a token, it takes no other method either.
    let posted = server.post("/healthz").await;
    expect_error(posted, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;

    // With no token configured, everyone gets the detail.
    let open = Server::start().await;
    let health: HealthResponse = expect(open.get("/healthz").await, StatusCode::OK).await;
    assert!(health.store_ok);
}

/// An empty token configured locks the server: an empty bearer is no key.
#[tokio::test]
async fn an_empty_configured_token_lets_nobody_in() {
    let server = Server::start_with(HttpConfig::default().token("").read_only_token("")).await;
    let response = reqwest::Client::new()
        .get(server.url("/jobs"))
        .header(header::AUTHORIZATION, "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
