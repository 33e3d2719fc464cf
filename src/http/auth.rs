//! The bearer token: required on every request when one is configured.
//!
//! Programs send `Authorization: Bearer TOKEN`. A browser cannot add that
//! header to a page load or an event stream, so the dashboard's sign-in
//! form (`POST /login`) checks the token once and sets it in an HttpOnly,
//! SameSite=Strict cookie, which is accepted in place of the header. Every
//! comparison takes the same time however much of the token matches.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::mount;
use super::routes::dashboard;
use super::HttpState;

/// The cookie the sign-in sets: the token, hex-encoded so any token fits.
const COOKIE: &str = "jobstore_token";

/// Lets a request through only when it carries the configured token (or
/// when none is configured). A browser loading the dashboard without it
/// gets the sign-in page, still with status 401.
pub(crate) async fn require_token(
    State(state): State<HttpState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.settings().token.as_deref() else {
        return next.run(request).await;
    };
    let is_login = request.uri().path() == "/login" && request.method() == Method::POST;
    if is_login || carries(request.headers(), expected) {
        return next.run(request).await;
    }
    let wants_page = request.method() == Method::GET
        && request.uri().path() == "/"
        && accepts_html(request.headers());
    if wants_page {
        return sign_in_page(false, &mount_prefix(&request));
    }
    ApiError::unauthorized().into_response()
}

/// The sign-in form's body.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    token: String,
}

/// Checks the token from the sign-in form; when right, sets the cookie and
/// goes back to the dashboard.
pub(crate) async fn login(
    State(state): State<HttpState>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let prefix = mount::prefix(original.path(), uri.path());
    let Some(expected) = state.settings().token.as_deref() else {
        return see_dashboard(prefix, None);
    };
    match form {
        Ok(Form(form)) if same(form.token.as_bytes(), expected.as_bytes()) => {
            let path = if prefix.is_empty() { "/" } else { prefix };
            let cookie = format!(
                "{COOKIE}={}; HttpOnly; SameSite=Strict; Path={path}",
                hex(expected)
            );
            see_dashboard(prefix, HeaderValue::from_str(&cookie).ok())
        }
        _ => sign_in_page(true, prefix),
    }
}

/// The router's mount path, for a request passing through the middleware.
fn mount_prefix(request: &Request) -> String {
    let inner = request.uri().path();
    match request.extensions().get::<OriginalUri>() {
        Some(OriginalUri(original)) => mount::prefix(original.path(), inner).to_string(),
        None => String::new(),
    }
}

/// Back to the dashboard, at the mount path.
fn see_dashboard(prefix: &str, cookie: Option<HeaderValue>) -> Response {
    let location = if prefix.is_empty() { "/" } else { prefix };
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn sign_in_page(failed: bool, prefix: &str) -> Response {
    dashboard::login_response(failed, prefix)
}

/// Whether the request carries the token, in the header or the cookie.
fn carries(headers: &HeaderMap, expected: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        return same(token.trim().as_bytes(), expected.as_bytes());
    }
    let expected_hex = hex(expected);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .any(|value| same(value.as_bytes(), expected_hex.as_bytes()))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Compares in constant time (for equal lengths; a length is no secret).
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_token_is_taken_from_the_header_or_the_cookie() {
        let token = "s3cret; with=odd chars";
        let ok = headers(&[(header::AUTHORIZATION, "Bearer s3cret; with=odd chars")]);
        assert!(carries(&ok, token));
        let cookie = format!("theme=dark; {COOKIE}={}", hex(token));
        assert!(carries(&headers(&[(header::COOKIE, &cookie)]), token));
        for wrong in [
            headers(&[(header::AUTHORIZATION, "Bearer s3cret")]),
            headers(&[(header::AUTHORIZATION, "Basic czNjcmV0")]),
            headers(&[(header::COOKIE, "jobstore_token=00")]),
            headers(&[]),
        ] {
            assert!(!carries(&wrong, token), "{wrong:?}");
        }
    }
}
