//! The dashboard: a page and its assets, embedded in the binary.

use axum::extract::{OriginalUri, Path};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

const INDEX: &str = include_str!("../assets/index.html");
const LOGIN: &str = include_str!("../assets/login.html");
const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

/// Only this server's own script, styles and API: an injected script or
/// inline handler would not run even if a value ever reached the page as
/// HTML.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";
/// The sign-in page has no script and one inline style sheet.
const LOGIN_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The dashboard page. Its links are relative, so without the trailing
/// slash of its mount path (`/admin` for `/admin/`) it redirects to it.
pub(crate) async fn index(OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    if !path.ends_with('/') {
        let location = match uri.query() {
            Some(query) => format!("{path}/?{query}"),
            None => format!("{path}/"),
        };
        return (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response();
    }
    page(INDEX, "text/html; charset=utf-8")
}

/// One of the dashboard's assets.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => page(SCRIPT, "text/javascript; charset=utf-8"),
        "style.css" => page(STYLE, "text/css; charset=utf-8"),
        _ => ApiError::not_found(format!("no asset {name:?}")).into_response(),
    }
}

/// The sign-in page, with status 401, saying so when a token was refused.
pub(crate) fn login_response(failed: bool) -> Response {
    let message = if failed {
        r#"<p class="failed">That token is not right.</p>"#
    } else {
        ""
    };
    let body = LOGIN.replace("<!--message-->", message);
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
