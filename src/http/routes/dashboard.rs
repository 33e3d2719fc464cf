//! The dashboard: a page and its assets, embedded in the binary.

use axum::extract::{OriginalUri, Path};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

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
/// nested there.
pub(crate) async fn index(OriginalUri(original): OriginalUri, uri: Uri) -> Response {
    let base = format!("{}/", mount::prefix(original.path(), uri.path()));
    let html = INDEX.replacen(
        "<head>",
        &format!("<head>\n<base href=\"{}\">", mount::escape_attribute(&base)),
        1,
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    protect(response.headers_mut(), POLICY);
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
/// `prefix` is the router's mount path.
pub(crate) fn login_response(failed: bool, prefix: &str) -> Response {
    let message = if failed {
        r#"<p class="failed">That token is not right.</p>"#
    } else {
        ""
    };
    let action = mount::escape_attribute(&format!("{prefix}/login"));
    let body = LOGIN
        .replace("<!--message-->", message)
        .replace(r#"action="login""#, &format!(r#"action="{action}""#));
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
