//! The dashboard's pages at the API's own paths, the list's queue filter
//! and search, the activity report, deleting one job, and the `change`
//! event of the counts stream.

use std::sync::Arc;

use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use jobstore::http::types::ActivityResponse;
use jobstore::http::{ErrorCode, HttpConfig, HttpState, JobListResponse, JobResponse};
use jobstore::{
    BulkAction, BulkOutcome, Failure, JobId, JobStatus, JobStore, MemoryStore, NewJob, Progress,
    StoreError,
};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use crate::support::{expect, expect_error, EventReader, Server, DEADLINE};

/// What a browser sends when it opens a page.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const OPERATOR: &str = "operator token, long enough";
const VIEWER: &str = "viewer token, also long";

async fn get_accepting(server: &Server, path: &str, accept: &str) -> Response {
    server
        .client
        .get(server.url(path))
        .header(header::ACCEPT, accept)
        .send()
        .await
        .unwrap()
}

/// Whether one of the `Vary` headers names `Accept`.
fn varies_by_accept(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept"))
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .map_or("", |v| v.to_str().unwrap())
}

/// Checks that `status`, `headers` and `body` are the dashboard page with
/// the content security policy `policy`; returns the body.
fn check_page(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: String,
    policy: &str,
) -> String {
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    assert!(
        content_type(headers).starts_with("text/html"),
        "{what}: {headers:?}"
    );
    assert_eq!(
        headers
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap()),
        Some(policy),
        "{what}"
    );
    assert!(varies_by_accept(headers), "{what}: {headers:?}");
    assert!(body.contains(r#"src="assets/app.js""#), "{what}: {body}");
    body
}

async fn expect_page(what: &str, response: Response, policy: &str) -> String {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    check_page(what, status, &headers, body, policy)
}

/// Checks that `status`, `headers` and `body` are the API's JSON (varying
/// by `Accept` when `varies`); returns the body parsed.
fn check_json(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    expected: StatusCode,
    varies: bool,
) -> Value {
    assert_eq!(status, expected, "{what}: {body}");
    assert!(
        content_type(headers).starts_with("application/json"),
        "{what}: {headers:?}: {body}"
    );
    assert!(!body.contains("<html"), "{what}: {body}");
    if varies {
        assert!(varies_by_accept(headers), "{what}: {headers:?}");
    }
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"))
}

async fn expect_json(what: &str, response: Response, expected: StatusCode, varies: bool) -> Value {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    check_json(what, status, &headers, &body, expected, varies)
}

/// A `GET` with no `Accept` header at all (reqwest always sends one), as
/// HTTP/1.0 so the body ends with the connection: the status, headers and
/// body.
async fn get_without_accept(base: &str, path: &str) -> (StatusCode, HeaderMap, String) {
    let address = base.strip_prefix("http://").unwrap();
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        raw
    };
    let raw = timeout(DEADLINE, exchange)
        .await
        .expect("a response in time");
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let code: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    (
        StatusCode::from_u16(code).unwrap(),
        headers,
        body.to_string(),
    )
}

/// Checks what the API answered at one of the page paths.
fn check_api_body(path: &str, body: &Value, job: JobId) {
    if path == "/jobs" {
        assert_eq!(body["jobs"][0]["id"], job.to_string(), "{path}: {body}");
    } else if path.starts_with("/jobs/") {
        assert_eq!(body["id"], job.to_string(), "{path}: {body}");
    } else {
        assert!(body.is_array(), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_browser_gets_the_page_and_a_program_the_json_at_each_page_path() {
    let server = Server::start().await;
    let job = server
        .store
        .create(NewJob::new("page", json!({})).queue("video"))
        .await
        .unwrap();

    // The dashboard's root: always the page, whatever the Accept.
    let root = get_accepting(&server, "/", BROWSER).await;
    let policy = root.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = expect_page("/", root, &policy).await;
    assert!(html.contains(r#"<base href="/">"#), "{html}");
    assert!(
        html.contains(r#"<meta name="jobstore-role" content="operator">"#),
        "{html}"
    );
    let (status, headers, body) = get_without_accept(&server.base, "/").await;
    check_page("/ without Accept", status, &headers, body, &policy);

    let job_path = format!("/jobs/{}", job.id);
    for path in ["/jobs", job_path.as_str(), "/queues", "/workers", "/cron"] {
        for (asked, accept) in [(path.to_string(), BROWSER), (format!("{path}/"), BROWSER)] {
            let html = expect_page(
                &asked,
                get_accepting(&server, &asked, accept).await,
                &policy,
            )
            .await;
            assert!(html.contains(r#"<base href="/">"#), "{asked}: {html}");
            assert!(
                html.contains(r#"<meta name="jobstore-role" content="operator">"#),
                "{asked}: {html}"
            );
        }

        for accept in ["application/json", "*/*"] {
            let what = format!("{path} for {accept}");
            let response = get_accepting(&server, path, accept).await;
            let body = expect_json(&what, response, StatusCode::OK, true).await;
            check_api_body(path, &body, job.id);
        }
        let (status, headers, body) = get_without_accept(&server.base, path).await;
        let what = format!("{path} without Accept");
        let body = check_json(&what, status, &headers, &body, StatusCode::OK, true);
        check_api_body(path, &body, job.id);
    }

    // Never pages: the bulk endpoint, a job's attempts, and anything but GET.
    let attempts = format!("/jobs/{}/attempts", job.id);
    let body = expect_json(
        &attempts,
        get_accepting(&server, &attempts, BROWSER).await,
        StatusCode::OK,
        false,
    )
    .await;
    assert_eq!(body, json!([]));
    let body = expect_json(
        "GET /jobs/bulk",
        get_accepting(&server, "/jobs/bulk", BROWSER).await,
        StatusCode::METHOD_NOT_ALLOWED,
        false,
    )
    .await;
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let preview = server
        .client
        .post(server.url("/jobs/bulk"))
        .header(header::ACCEPT, BROWSER)
        .json(&json!({"action": "delete", "filter": {"queue": "video"}, "dry_run": true}))
        .send()
        .await
        .unwrap();
    let preview = expect_json("POST /jobs/bulk", preview, StatusCode::OK, false).await;
    assert_eq!(preview["matched"], 1, "{preview}");
    let created = server
        .client
        .post(server.url("/jobs"))
        .header(header::ACCEPT, BROWSER)
        .json(&json!({"job_type": "page", "params": {"n": 2}}))
        .send()
        .await
        .unwrap();
    let created = expect_json("POST /jobs", created, StatusCode::CREATED, true).await;
    assert_eq!(created["params"], json!({"n": 2}));
    assert_eq!(created["status"], "pending");
}

#[tokio::test]
async fn a_deep_link_under_a_mount_path_gets_the_page_based_there() {
    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new());
    let job = store.create(NewJob::new("deep", json!({}))).await.unwrap();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the host service" }))
        .nest(
            "/jobs-admin",
            jobstore::http::router(HttpState::new(Arc::clone(&store))),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let get = |path: String, accept: &'static str| {
        client
            .get(format!("{base}{path}"))
            .header(header::ACCEPT, accept)
            .send()
    };

    let root = get("/jobs-admin".into(), BROWSER).await.unwrap();
    let policy = root.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    expect_page("/jobs-admin", root, &policy).await;

    let deep = format!("/jobs-admin/jobs/{}", job.id);
    for path in [
        deep.clone(),
        "/jobs-admin/jobs".into(),
        "/jobs-admin/queues".into(),
        "/jobs-admin/workers".into(),
        "/jobs-admin/cron".into(),
    ] {
        let html = expect_page(&path, get(path.clone(), BROWSER).await.unwrap(), &policy).await;
        assert!(
            html.contains(r#"<base href="/jobs-admin/">"#),
            "{path}: {html}"
        );
    }

    // A program at the same link gets the job.
    let api = get(deep.clone(), "application/json").await.unwrap();
    let api = expect_json(&deep, api, StatusCode::OK, true).await;
    let shown: JobResponse = serde_json::from_value(api).unwrap();
    assert_eq!(shown.id, job.id);
    assert_eq!(
        get("/".into(), BROWSER)
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "the host service"
    );
}

/// A page path with a trailing slash is tolerated at the root; under a
/// mount path its `<base>` must still be the mount path, or every link of
/// the page (`assets/app.js`, the API calls) resolves outside it.
#[tokio::test]
async fn a_deep_link_with_a_trailing_slash_under_a_mount_path_is_based_there_too() {
    let store: Arc<dyn JobStore> = Arc::new(MemoryStore::new());
    let app =
        axum::Router::new().nest("/jobs-admin", jobstore::http::router(HttpState::new(store)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    for path in ["/jobs-admin/jobs/", "/jobs-admin/queues/"] {
        let response = client
            .get(format!("{base}{path}"))
            .header(header::ACCEPT, BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let html = response.text().await.unwrap();
        let base = html.lines().find(|l| l.starts_with("<base ")).unwrap();
        assert_eq!(base, r#"<base href="/jobs-admin/">"#, "{path}");
    }
}

/// The `Set-Cookie` the sign-in answers with `token`, as a `Cookie` header.
async fn sign_in_cookie(server: &Server, token: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form: String = url_encode(token);
    let response = client
        .post(server.url("/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={form}&next=%2Fjobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_page_tells_a_viewer_from_an_operator() {
    let server = Server::start_with(
        HttpConfig::default()
            .token(OPERATOR)
            .read_only_token(VIEWER),
    )
    .await;
    let job = server
        .store
        .create(NewJob::new("role", json!({})))
        .await
        .unwrap();
    let job_path = format!("/jobs/{}", job.id);
    let viewer_cookie = sign_in_cookie(&server, VIEWER).await;
    let operator_cookie = sign_in_cookie(&server, OPERATOR).await;
    let policy = {
        let root = server
            .client
            .get(server.url("/"))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .unwrap();
        root.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string()
    };
    for path in ["/", "/jobs", job_path.as_str(), "/queues"] {
        for (role, other, token, cookie) in [
            ("viewer", "operator", VIEWER, &viewer_cookie),
            ("operator", "viewer", OPERATOR, &operator_cookie),
        ] {
            let by_header = server
                .client
                .get(server.url(path))
                .header(header::ACCEPT, BROWSER)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let by_cookie = server
                .client
                .get(server.url(path))
                .header(header::ACCEPT, BROWSER)
                .header(header::COOKIE, cookie.as_str())
                .send()
                .await
                .unwrap();
            for (how, response) in [("bearer", by_header), ("cookie", by_cookie)] {
                let what = format!("{path} as {role} by {how}");
                let html = expect_page(&what, response, &policy).await;
                let says = format!(r#"<meta name="jobstore-role" content="{role}">"#);
                assert!(html.contains(&says), "{what}: {html}");
                assert!(!html.contains(&format!(r#"content="{other}""#)), "{what}");
            }
        }
    }

    // Without a token a browser gets the sign-in page, not the dashboard.
    let anonymous = get_accepting(&server, &job_path, BROWSER).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(!anonymous.text().await.unwrap().contains("jobstore-role"));
}

async fn listed(server: &Server, query: &str) -> Vec<JobId> {
    let page: JobListResponse =
        expect(server.get(&format!("/jobs?{query}")).await, StatusCode::OK).await;
    page.jobs.iter().map(|job| job.id).collect()
}

#[tokio::test]
async fn the_list_filters_by_queue_and_finds_jobs_by_search() {
    let server = Server::start().await;
    let store = &server.store;
    let holiday = store
        .create(NewJob::new("transcode", json!({"file": "Holiday-Trip.MOV"})).queue("video"))
        .await
        .unwrap()
        .id;
    let wedding = store
        .create(
            NewJob::new("thumbnail", json!({"file": "wedding.mp4"}))
                .queue("video")
                .correlation_id("album-42"),
        )
        .await
        .unwrap()
        .id;
    let email = store
        .create(NewJob::new(
            "email",
            json!({"subject": "holiday-trip photos"}),
        ))
        .await
        .unwrap()
        .id;
    let probe = store
        .create(NewJob::new("probe", json!({"file": "broken.avi"})).queue("video"))
        .await
        .unwrap()
        .id;
    let claimed = server.claim_from("video", "probe").await;
    store
        .fail(&claimed.lease, &Failure::permanent("Codec Missing: xvid"))
        .await
        .unwrap();
    let claimed = server.claim_from("video", "transcode").await;
    assert_eq!(claimed.job.id, holiday);
    store.complete(&claimed.lease, json!({})).await.unwrap();

    // By queue, newest first.
    assert_eq!(
        listed(&server, "queue=video").await,
        [probe, wedding, holiday]
    );
    assert_eq!(listed(&server, "queue=default").await, [email]);
    assert_eq!(listed(&server, "queue=nothing-here").await, []);
    assert_eq!(
        listed(&server, "queue=video&status=pending").await,
        [wedding]
    );

    // Text in params, ignoring ASCII case, in any queue or within one.
    assert_eq!(listed(&server, "q=holiday-trip").await, [email, holiday]);
    assert_eq!(
        listed(&server, "q=HOLIDAY-TRIP&queue=video").await,
        [holiday]
    );
    assert_eq!(
        listed(&server, "q=Holiday-Trip&status=completed").await,
        [holiday]
    );
    assert_eq!(
        listed(&server, "q=holiday-trip&status=pending").await,
        [email]
    );
    assert_eq!(listed(&server, "q=holiday-trip&status=failed").await, []);
    // Text in the error.
    assert_eq!(listed(&server, "q=codec%20missing").await, [probe]);
    // An id's last eight characters, as the dashboard shows it, in either
    // case; the whole id.
    let id = wedding.to_string();
    let tail = &id[id.len() - 8..];
    assert_eq!(listed(&server, &format!("q={tail}")).await, [wedding]);
    assert_eq!(
        listed(&server, &format!("q={}", tail.to_ascii_uppercase())).await,
        [wedding]
    );
    assert_eq!(listed(&server, &format!("q={email}")).await, [email]);
    // A correlation id, exactly (surrounding spaces ignored).
    assert_eq!(listed(&server, "q=album-42").await, [wedding]);
    assert_eq!(listed(&server, "q=%20album-42%20").await, [wedding]);
    assert_eq!(listed(&server, "q=album-42&status=completed").await, []);
    assert_eq!(listed(&server, "q=not%20anywhere").await, []);

    // The longest search is 200 characters.
    assert_eq!(listed(&server, &format!("q={}", "x".repeat(200))).await, []);
    let message = expect_error(
        server.get(&format!("/jobs?q={}", "x".repeat(201))).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    )
    .await;
    assert!(message.contains("search"), "{message}");
    let message = expect_error(
        server.get("/jobs?q=a%07b").await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRequest,
    )
    .await;
    assert!(message.contains("search"), "{message}");
}

/// The start of the minute `at` falls in.
fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Span::minutes(1)).unwrap()
}

#[tokio::test]
async fn activity_counts_a_finished_job_in_the_current_span_of_its_queue() {
    let server = Server::start().await;
    let store = &server.store;
    store
        .create(NewJob::new("waiting", json!({})).queue("later"))
        .await
        .unwrap();
    // A minute ending between the job's start and the report would put them
    // in different spans: then the job runs again in another queue (it
    // takes milliseconds, so two rounds always suffice).
    for round in 0..3 {
        let queue = format!("charts-{round}");
        let job_type = format!("chart-{round}");
        let before = Utc::now();
        let job = store
            .create(NewJob::new(job_type.as_str(), json!({})).queue(queue.as_str()))
            .await
            .unwrap();
        let claimed = server.claim_from(&queue, &job_type).await;
        store.complete(&claimed.lease, json!({})).await.unwrap();
        let report: ActivityResponse =
            expect(server.get("/stats/activity").await, StatusCode::OK).await;
        let after = Utc::now();
        if minute_of(before) != minute_of(after) {
            continue;
        }

        assert_eq!((report.range.as_str(), report.bucket_seconds), ("hour", 60));
        assert_eq!(report.since, minute_of(before) - Span::minutes(59));
        let names: Vec<&str> = report.queues.iter().map(|q| q.queue.as_str()).collect();
        assert!(names.is_sorted(), "{names:?}");
        let charts = report
            .queues
            .iter()
            .find(|q| q.queue == queue)
            .unwrap_or_else(|| panic!("{queue} in {names:?}"));
        assert_eq!(charts.buckets.len(), 60);
        for (i, bucket) in charts.buckets.iter().enumerate() {
            assert_eq!(bucket.start, report.since + Span::minutes(i as i64));
        }
        let (now, earlier) = charts.buckets.split_last().unwrap();
        assert_eq!(now.start, minute_of(after));
        assert_eq!((now.completed, now.started, now.failed), (1, 1, 0));
        let waited = now.wait_p50_ms.expect("the wait of the job that started");
        assert!(
            waited <= u64::try_from((after - before).num_milliseconds()).unwrap(),
            "{waited} ms"
        );
        assert_eq!(now.wait_p95_ms, Some(waited), "one job: every percentile");
        assert_eq!(now.depth, 0, "nothing waits in {queue}");
        assert!(earlier
            .iter()
            .all(|b| b.completed + b.started + b.failed + b.depth == 0 && b.wait_p50_ms.is_none()));
        let done = store.get(job.id).await.unwrap();
        assert!(done.started_at.is_some_and(|at| minute_of(at) == now.start));

        // The job still waiting is counted as the depth of its queue.
        let later = report.queues.iter().find(|q| q.queue == "later").unwrap();
        let last = later.buckets.last().unwrap();
        assert_eq!((last.depth, last.started, last.wait_p50_ms), (1, 0, None));

        // The last day, by hour.
        let day: ActivityResponse = expect(
            server.get("/stats/activity?range=day").await,
            StatusCode::OK,
        )
        .await;
        assert_eq!((day.range.as_str(), day.bucket_seconds), ("day", 3600));
        assert_eq!(day.since.timestamp() % 3600, 0);
        let charts = day.queues.iter().find(|q| q.queue == queue).unwrap();
        assert_eq!(charts.buckets.len(), 24);
        for (i, bucket) in charts.buckets.iter().enumerate() {
            assert_eq!(bucket.start, day.since + Span::hours(i as i64));
        }
        assert!(charts.buckets.last().unwrap().start <= after);
        assert_eq!(charts.buckets.iter().map(|b| b.completed).sum::<u64>(), 1);
        assert_eq!(charts.buckets.iter().map(|b| b.started).sum::<u64>(), 1);

        // An empty range is the default; anything else is refused.
        let hour: ActivityResponse =
            expect(server.get("/stats/activity?range=").await, StatusCode::OK).await;
        assert_eq!(hour.range, "hour");
        let message = expect_error(
            server.get("/stats/activity?range=week").await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
        )
        .await;
        assert!(message.contains("week"), "{message}");
        expect_error(
            server.get("/stats/activity?span=day").await,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
        )
        .await;
        return;
    }
    panic!("three rounds each crossed a minute");
}

async fn delete(server: &Server, path: &str, token: Option<&str>) -> Response {
    let mut request = server.client.delete(server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn deleting_a_finished_job_removes_it_and_its_attempts() {
    let server = Server::start().await;
    let store = &server.store;
    let done = store
        .create(NewJob::new("gone", json!({})))
        .await
        .unwrap()
        .id;
    let claimed = server.claim("gone").await;
    store.complete(&claimed.lease, json!({})).await.unwrap();
    let kept = store
        .create(NewJob::new("kept", json!({})))
        .await
        .unwrap()
        .id;
    assert_eq!(store.attempts(done).await.unwrap().len(), 1);

    let path = format!("/jobs/{done}");
    let outcome: BulkOutcome = expect(delete(&server, &path, None).await, StatusCode::OK).await;
    assert_eq!(outcome.action, BulkAction::Delete);
    assert!(!outcome.dry_run);
    assert_eq!((outcome.matched, outcome.applied), (1, 1));
    expect_error(
        server.get(&path).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    expect_error(
        server.get(&format!("{path}/attempts")).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    assert!(matches!(
        store.get(done).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.get(kept).await.unwrap().status,
        JobStatus::Pending,
        "only that job"
    );
    // Deleted once: the second time it is unknown.
    expect_error(
        delete(&server, &path, None).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;

    // A pending job may be deleted too.
    let outcome: BulkOutcome = expect(
        delete(&server, &format!("/jobs/{kept}"), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(outcome.applied, 1);
    assert!(store.get(kept).await.is_err());
}

#[tokio::test]
async fn deleting_a_running_unknown_or_malformed_job_is_refused() {
    let server = Server::start().await;
    let store = &server.store;
    let running = store
        .create(NewJob::new("busy", json!({})))
        .await
        .unwrap()
        .id;
    let claimed = server.claim("busy").await;

    let message = expect_error(
        delete(&server, &format!("/jobs/{running}"), None).await,
        StatusCode::CONFLICT,
        ErrorCode::InvalidTransition,
    )
    .await;
    assert!(message.contains("running"), "{message}");
    let job: JobResponse = expect(
        server.get(&format!("/jobs/{running}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(store.attempts(running).await.unwrap().len(), 1);
    // Its worker still holds it.
    store
        .complete(&claimed.lease, json!({"ok": 1}))
        .await
        .unwrap();
    assert_eq!(
        store.get(running).await.unwrap().status,
        JobStatus::Completed
    );

    let unknown = uuid::Uuid::now_v7();
    expect_error(
        delete(&server, &format!("/jobs/{unknown}"), None).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    expect_error(
        delete(&server, "/jobs/not-an-id", None).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidId,
    )
    .await;
}

#[tokio::test]
async fn the_read_only_token_cannot_delete_a_job() {
    let server = Server::start_with(
        HttpConfig::default()
            .token(OPERATOR)
            .read_only_token(VIEWER),
    )
    .await;
    let job = server
        .store
        .create(NewJob::new("kept", json!({})))
        .await
        .unwrap()
        .id;
    let path = format!("/jobs/{job}");
    let message = expect_error(
        delete(&server, &path, Some(VIEWER)).await,
        StatusCode::FORBIDDEN,
        ErrorCode::Forbidden,
    )
    .await;
    assert!(message.contains("DELETE"), "{message}");
    expect_error(
        delete(&server, &path, None).await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
    let still = server
        .client
        .get(server.url(&path))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    let still: JobResponse = expect(still, StatusCode::OK).await;
    assert_eq!(still.status, JobStatus::Pending);

    let outcome: BulkOutcome =
        expect(delete(&server, &path, Some(OPERATOR)).await, StatusCode::OK).await;
    assert_eq!(outcome.applied, 1);
}

#[tokio::test]
async fn the_counts_stream_tells_of_progress_with_a_change_event() {
    let server = Server::start().await;
    let mut events = EventReader::new(server.get("/events").await);
    let (name, data) = events.next().await.expect("another event");
    assert_eq!(name, "stats", "the first event is the counts: {data}");
    let stats: jobstore::http::StatsResponse = serde_json::from_str(&data).unwrap();
    assert_eq!(stats.total, 0);

    server
        .store
        .create(NewJob::new("encode", json!({})))
        .await
        .unwrap();
    assert_eq!(events.next_stats().await.by_status.pending, 1);
    let claimed = server.claim("encode").await;
    assert_eq!(events.next_stats().await.by_status.running, 1);

    // Progress changes no count: a bare `change`, each time.
    for percent in [25.0, 75.0] {
        let progress = Progress::percent("encoding", percent);
        server
            .store
            .progress(&claimed.lease, &progress)
            .await
            .unwrap();
        let (name, data) = events.next().await.expect("another event");
        assert_eq!((name.as_str(), data.as_str()), ("change", "{}"));
    }

    // A change of the counts is a `stats` event again.
    server
        .store
        .complete(&claimed.lease, json!({}))
        .await
        .unwrap();
    let stats = events.next_stats().await;
    assert_eq!((stats.by_status.running, stats.by_status.completed), (0, 1));
}

/// A program that accepts HTML among other things, or a browser's script
/// calling the API, gets JSON: only a browser opening a page gets the page.
#[tokio::test]
async fn only_a_page_load_gets_the_page() {
    let server = Server::start().await;
    let client = reqwest::Client::new();
    for (what, accept, dest) in [
        (
            "Java's default Accept",
            "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2",
            None,
        ),
        ("HTML after JSON", "application/json, text/html;q=0.1", None),
        ("a script's fetch", BROWSER, Some("empty")),
    ] {
        let mut request = client
            .get(server.url("/queues"))
            .header(header::ACCEPT, accept);
        if let Some(dest) = dest {
            request = request.header("sec-fetch-dest", dest);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{what}");
        let body = response.text().await.unwrap();
        assert!(body.starts_with('['), "{what}: {body}");
    }
    let page = client
        .get(server.url("/queues"))
        .header(header::ACCEPT, "*/*")
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.starts_with("<!doctype html>"), "{page}");
}
