//! The dashboard: a page and its assets, embedded in the binary.

use axum::extract::{OriginalUri, Path, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::http::auth::Role;
use crate::http::error::ApiError;
use crate::http::mount;

const INDEX: &str = include_str!("../assets/index.html");
const LOGIN: &str = include_str!("../assets/login.html");
const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

/// Only this server's own script, styles and API: an injected script or
/// inline handler would not run even if a value ever reached the page as
/// HTML.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'self'; \
    frame-ancestors 'none'";
/// The sign-in page has no script and one inline style sheet.
const LOGIN_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The dashboard page. Its links are relative to a `<base>` at the
/// router's mount path, so it works at `/`, and at `/jobs-admin` when
/// nested there; it says who is looking (operator or viewer), so a viewer
/// is not offered actions the server would refuse.
pub(crate) async fn index(
    OriginalUri(original): OriginalUri,
    uri: Uri,
    role: Option<Extension<Role>>,
) -> Response {
    let role = role.map_or(Role::Operator, |Extension(role)| role);
    page_html(original.path(), uri.path(), role)
}

fn page_html(original: &str, inner: &str, role: Role) -> Response {
    let base = format!("{}/", mount::prefix(original, inner));
    let head = format!(
        "<head>\n<base href=\"{}\">\n<meta name=\"jobstore-role\" content=\"{}\">",
        mount::escape_attribute(&base),
        role.as_str()
    );
    let html = INDEX.replacen("<head>", &head, 1);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    protect(response.headers_mut(), POLICY);
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// Whether `path` (inside the router) is one of the dashboard's pages:
/// `/`, `/jobs`, `/jobs/ID`, `/queues`, `/workers`, `/cron`.
fn is_page(path: &str) -> bool {
    match path.trim_end_matches('/') {
        "" | "/jobs" | "/queues" | "/workers" | "/cron" => true,
        other => other
            .strip_prefix("/jobs/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/') && id != "bulk"),
    }
}

/// Whether a request is a browser opening a page rather than a program
/// asking for JSON: a browser says so (`Sec-Fetch-Dest: document`; its
/// script's own calls say `empty`); one that does not send that header is
/// known by the `Accept` every browser sends on navigation (HTML and
/// XHTML). A program that merely accepts HTML among other things (Java's
/// default `Accept` does) gets the JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text("sec-fetch-dest") {
        Some(dest) => dest.eq_ignore_ascii_case("document"),
        None => text(header::ACCEPT.as_str())
            .is_some_and(|v| v.contains("text/html") && v.contains("application/xhtml+xml")),
    }
}

/// The dashboard's pages share their paths with the API: a browser
/// opening `/jobs/ID` gets the page (which then reads `/jobs/ID` as JSON),
/// a program gets the JSON. Responses at those paths say they vary by
/// `Accept`, so no cache mixes the two.
pub(crate) async fn pages(request: Request, next: Next) -> Response {
    let inner = request.uri().path().to_string();
    if !is_page(&inner) {
        return next.run(request).await;
    }
    let reads = request.method() == Method::GET || request.method() == Method::HEAD;
    if reads && wants_html(request.headers()) {
        let original = request
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| inner.clone(), |OriginalUri(uri)| uri.path().to_string());
        let role = request
            .extensions()
            .get::<Role>()
            .copied()
            .unwrap_or(Role::Operator);
        return page_html(&original, &inner, role);
    }
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::VARY) {
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    response
}

/// One of the dashboard's assets.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => page(SCRIPT, "text/javascript; charset=utf-8"),
        "style.css" => page(STYLE, "text/css; charset=utf-8"),
        _ => ApiError::not_found(format!("no asset {name:?}")).into_response(),
    }
}

/// The sign-in page, with status 401, saying so when a token was refused;
/// `prefix` is the router's mount path, `next` the path (under it) to go
/// back to once signed in, already checked to be safe.
pub(crate) fn login_response(failed: bool, prefix: &str, next: &str) -> Response {
    let message = if failed {
        r#"<p class="failed">That token is not right.</p>"#
    } else {
        ""
    };
    let action = mount::escape_attribute(&format!("{prefix}/login"));
    let next = mount::escape_attribute(next);
    let body = LOGIN
        .replace("<!--message-->", message)
        .replace(r#"action="login""#, &format!(r#"action="{action}""#))
        .replace(
            r#"name="next" value="/""#,
            &format!(r#"name="next" value="{next}""#),
        );
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::WWW_AUTHENTICATE, "Bearer"),
        ],
        body,
    )
        .into_response();
    protect(response.headers_mut(), LOGIN_POLICY);
    response
}

/// The headers every dashboard response carries.
fn protect(headers: &mut HeaderMap, policy: &'static str) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // A new binary's assets are used at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    protect(response.headers_mut(), POLICY);
    response
}
