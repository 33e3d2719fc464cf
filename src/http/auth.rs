//! Who may do what: the operator token, the read-only token, and the
//! requests that need neither.
//!
//! Programs send `Authorization: Bearer TOKEN`. A browser cannot add that
//! header to a page load or an event stream, so the dashboard's sign-in
//! form (`POST /login`) checks the token once and sets it in an HttpOnly,
//! SameSite=Strict cookie, which is accepted in place of the header. Every
//! comparison takes the same time however much of the token matches.
//!
//! The operator token ([`HttpConfig::token`](super::HttpConfig)) may do
//! anything; the read-only token only watches: `GET` and `HEAD` (event
//! streams included), 403 for any other method. The middleware puts the
//! [`Role`] it found in the request's extensions for the handlers. With
//! no token configured every request is the operator's. `GET /healthz`
//! needs no token: without one it passes with no [`Role`], and the health
//! handler then says only up or down.

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

/// The longest path the sign-in goes back to, in bytes.
const NEXT_MAX_BYTES: usize = 2_000;

/// What a request may do, from the token it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Anything: the operator token, or no token configured.
    Operator,
    /// Only watch (`GET`, `HEAD`): the read-only token.
    Viewer,
}

impl Role {
    /// `"operator"` or `"viewer"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role may make a request with `method`.
    fn may(self, method: &Method) -> bool {
        match self {
            Role::Operator => true,
            Role::Viewer => method == Method::GET || method == Method::HEAD,
        }
    }
}

/// The tokens configured, if any.
#[derive(Clone, Copy)]
struct Tokens<'a> {
    operator: Option<&'a str>,
    viewer: Option<&'a str>,
}

impl<'a> Tokens<'a> {
    fn of(state: &'a HttpState) -> Self {
        let settings = state.settings();
        Tokens {
            operator: settings.token.as_deref(),
            viewer: settings.read_only_token.as_deref(),
        }
    }

    fn none(self) -> bool {
        self.operator.is_none() && self.viewer.is_none()
    }

    /// The role and token `matches` picks out: the operator's first.
    fn find(self, matches: impl Fn(&str) -> bool) -> Option<(Role, &'a str)> {
        // An empty token configured matches nothing: it locks the server
        // rather than opening it to an empty bearer.
        let operator = self.operator.filter(|t| !t.is_empty() && matches(t));
        let viewer = self.viewer.filter(|t| !t.is_empty() && matches(t));
        match (operator, viewer) {
            (Some(token), _) => Some((Role::Operator, token)),
            (None, Some(token)) => Some((Role::Viewer, token)),
            (None, None) => None,
        }
    }
}

/// Finds the request's [`Role`] from its token and lets it through when
/// the role allows the request, with the role in its extensions. No token
/// configured: the operator. A read-only token on anything but `GET` or
/// `HEAD`: 403. No valid token: `GET /healthz` passes without a role, a
/// browser asking for a page gets the sign-in page (status 401), anything
/// else 401.
pub(crate) async fn require_token(
    State(state): State<HttpState>,
    mut request: Request,
    next: Next,
) -> Response {
    let tokens = Tokens::of(&state);
    if tokens.none() {
        request.extensions_mut().insert(Role::Operator);
        return next.run(request).await;
    }
    let path = request.uri().path();
    let method = request.method();
    // The sign-in checks the token it is given itself.
    if path == "/login" && method == Method::POST {
        return next.run(request).await;
    }
    let credentials = Credentials::of(request.headers());
    match credentials.role(tokens) {
        Some(role) if !role.may(method) => {
            let action = format!("{method} {}", original_path(&request));
            tracing::info!(role = role.as_str(), %action, "refused: the token may only watch");
            ApiError::forbidden(&action).into_response()
        }
        Some(role) => {
            request.extensions_mut().insert(role);
            next.run(request).await
        }
        None => {
            let is_health = path == "/healthz" && (method == Method::GET || method == Method::HEAD);
            if is_health && credentials.is_none() {
                return next.run(request).await;
            }
            if method == Method::GET && accepts_html(request.headers()) {
                let wanted = request.uri().path_and_query().map_or("/", |p| p.as_str());
                return sign_in_page(false, &mount_prefix(&request), safe_next(Some(wanted)));
            }
            ApiError::unauthorized().into_response()
        }
    }
}

/// The sign-in form's body.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    /// Where to go once signed in, relative to the mount path.
    #[serde(default)]
    next: Option<String>,
}

/// Checks the token from the sign-in form (either one); when right, sets
/// the cookie to it and goes back to the page asked for (`next`, when it
/// is a safe path), else to the dashboard.
pub(crate) async fn login(
    State(state): State<HttpState>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let prefix = mount::prefix(original.path(), uri.path());
    let tokens = Tokens::of(&state);
    let Ok(Form(form)) = form else {
        return sign_in_page(true, prefix, "/");
    };
    let next = safe_next(form.next.as_deref());
    if tokens.none() {
        return see_page(prefix, next, None);
    }
    match tokens.find(|token| same(form.token.as_bytes(), token.as_bytes())) {
        Some((_, token)) => {
            let path = if prefix.is_empty() { "/" } else { prefix };
            let cookie = format!(
                "{COOKIE}={}; HttpOnly; SameSite=Strict; Path={path}",
                hex(token)
            );
            see_page(prefix, next, HeaderValue::from_str(&cookie).ok())
        }
        None => sign_in_page(true, prefix, next),
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

/// The path the client asked for, mount path included.
fn original_path(request: &Request) -> &str {
    match request.extensions().get::<OriginalUri>() {
        Some(OriginalUri(original)) => original.path(),
        None => request.uri().path(),
    }
}

/// `next` when it is a path on this server that is safe to go back to
/// after signing in, `"/"` (the dashboard) otherwise: it must start with
/// a single `/`, hold no `//`, no `\` and nothing but visible ASCII, and
/// be at most [`NEXT_MAX_BYTES`] long, so that it cannot lead elsewhere.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.contains("//")
                && !next.contains('\\')
                && next.len() <= NEXT_MAX_BYTES
                && next.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            next
        }
        _ => "/",
    }
}

/// To `next` (a [`safe_next`] path) under the mount path.
fn see_page(prefix: &str, next: &str, cookie: Option<HeaderValue>) -> Response {
    let location = match (prefix, next) {
        ("", next) => next.to_string(),
        (prefix, "/") => prefix.to_string(),
        (prefix, next) => format!("{prefix}{next}"),
    };
    let location = HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("/"));
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn sign_in_page(failed: bool, prefix: &str, next: &str) -> Response {
    dashboard::login_response(failed, prefix, next)
}

/// The token a request presents: the header's, or the cookie's values.
enum Credentials<'a> {
    Bearer(&'a str),
    Cookies(Vec<&'a str>),
    None,
}

impl<'a> Credentials<'a> {
    /// The bearer token when there is an `Authorization: Bearer` header
    /// (any cookie is then ignored), else the sign-in cookie's values.
    fn of(headers: &'a HeaderMap) -> Self {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            return Credentials::Bearer(token.trim());
        }
        let cookies: Vec<&str> = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .collect();
        if cookies.is_empty() {
            Credentials::None
        } else {
            Credentials::Cookies(cookies)
        }
    }

    fn is_none(&self) -> bool {
        matches!(self, Credentials::None)
    }

    /// The role these credentials give, if any: the operator's when they
    /// match both tokens.
    fn role(&self, tokens: Tokens<'_>) -> Option<Role> {
        let found = match self {
            Credentials::Bearer(given) => tokens.find(|t| same(given.as_bytes(), t.as_bytes())),
            Credentials::Cookies(values) => tokens.find(|t| {
                let expected = hex(t);
                values.iter().fold(false, |any, v| {
                    any | same(v.as_bytes(), expected.as_bytes())
                })
            }),
            Credentials::None => None,
        };
        found.map(|(role, _)| role)
    }
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

    const OPERATOR: &str = "s3cret; with=odd chars";
    const VIEWER: &str = "look only";

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn role(headers: &HeaderMap, operator: Option<&str>, viewer: Option<&str>) -> Option<Role> {
        Credentials::of(headers).role(Tokens { operator, viewer })
    }

    #[test]
    fn the_token_is_taken_from_the_header_or_the_cookie() {
        let both = (Some(OPERATOR), Some(VIEWER));
        let ok = headers(&[(header::AUTHORIZATION, "Bearer s3cret; with=odd chars")]);
        assert_eq!(role(&ok, both.0, both.1), Some(Role::Operator));
        let cookie = format!("theme=dark; {COOKIE}={}", hex(OPERATOR));
        let cookie = headers(&[(header::COOKIE, &cookie)]);
        assert_eq!(role(&cookie, both.0, both.1), Some(Role::Operator));
        for wrong in [
            headers(&[(header::AUTHORIZATION, "Bearer s3cret")]),
            headers(&[(header::AUTHORIZATION, "Basic czNjcmV0")]),
            headers(&[(header::COOKIE, "jobstore_token=00")]),
            headers(&[]),
        ] {
            assert_eq!(role(&wrong, both.0, both.1), None, "{wrong:?}");
        }
    }

    #[test]
    fn the_read_only_token_gives_the_viewer_role() {
        let bearer = headers(&[(header::AUTHORIZATION, "Bearer look only")]);
        assert_eq!(
            role(&bearer, Some(OPERATOR), Some(VIEWER)),
            Some(Role::Viewer)
        );
        assert_eq!(role(&bearer, None, Some(VIEWER)), Some(Role::Viewer));
        assert_eq!(role(&bearer, Some(OPERATOR), None), None);
        let cookie = format!("{COOKIE}={}", hex(VIEWER));
        let cookie = headers(&[(header::COOKIE, &cookie)]);
        assert_eq!(
            role(&cookie, Some(OPERATOR), Some(VIEWER)),
            Some(Role::Viewer)
        );
        // The same value for both is the operator's.
        assert_eq!(
            role(&bearer, Some(VIEWER), Some(VIEWER)),
            Some(Role::Operator)
        );
        // Two cookies (at two paths): the better one counts.
        let two = format!("{COOKIE}={}; {COOKIE}={}", hex(VIEWER), hex(OPERATOR));
        let two = headers(&[(header::COOKIE, &two)]);
        assert_eq!(
            role(&two, Some(OPERATOR), Some(VIEWER)),
            Some(Role::Operator)
        );
    }

    #[test]
    fn a_viewer_may_only_watch() {
        assert_eq!(Role::Operator.as_str(), "operator");
        assert_eq!(Role::Viewer.as_str(), "viewer");
        for method in [Method::GET, Method::HEAD] {
            assert!(Role::Viewer.may(&method));
        }
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(!Role::Viewer.may(&method), "{method}");
            assert!(Role::Operator.may(&method), "{method}");
        }
    }

    #[test]
    fn only_safe_paths_are_gone_back_to() {
        for good in ["/", "/jobs/0198", "/jobs?status=failed&limit=5", "/cron"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        let long = format!("/{}", "a".repeat(NEXT_MAX_BYTES));
        for bad in [
            "",
            "jobs",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "/jobs//x",
            "/a\tb",
            "/a\nb",
            "/a b",
            "/caf\u{e9}",
            "/\u{7f}",
            long.as_str(),
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        let longest = format!("/{}", "a".repeat(NEXT_MAX_BYTES - 1));
        assert_eq!(safe_next(Some(&longest)), longest);
    }

    #[test]
    fn goes_back_under_the_mount_path() {
        let location = |prefix: &str, next: &str| {
            see_page(prefix, next, None).headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(location("", "/"), "/");
        assert_eq!(location("", "/jobs/1"), "/jobs/1");
        assert_eq!(location("/admin", "/"), "/admin");
        assert_eq!(location("/admin", "/jobs/1"), "/admin/jobs/1");
    }
}
