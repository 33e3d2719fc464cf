//! How the HTTP API behaves.

use std::fmt;
use std::time::Duration;

/// Settings of the HTTP API and dashboard.
#[derive(Clone)]
pub struct HttpConfig {
    /// When set, every request must carry this bearer token (in an
    /// `Authorization: Bearer` header, or in the cookie the dashboard's
    /// sign-in sets); others get 401 (`GET /healthz` excepted: it answers
    /// up or down without a token).
    pub token: Option<String>,
    /// When set, this bearer token (or the cookie the sign-in sets for it)
    /// is also accepted, but only to watch: `GET` and `HEAD` requests,
    /// event streams included. Any other method gets 403. It should differ
    /// from `token` (`jobstore serve` refuses the same value
    /// for both; here the operator token wins). Set without `token`, the
    /// server needs this token on every request and lets nobody change
    /// anything.
    pub read_only_token: Option<String>,
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// How often `GET /jobs/{id}/events` looks at the job for changes.
    pub events_interval: Duration,
}

impl HttpConfig {
    /// The default body limit: room for the largest params a job accepts
    /// ([`NewJob::MAX_PARAMS_BYTES`](crate::NewJob::MAX_PARAMS_BYTES)) and
    /// the rest of the request.
    pub const DEFAULT_BODY_LIMIT: usize = crate::NewJob::MAX_PARAMS_BYTES + 64 * 1024;

    /// Requires `token` on every request.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Also accepts `token`, but only for requests that change nothing
    /// (see the field of the same name).
    pub fn read_only_token(mut self, token: impl Into<String>) -> Self {
        self.read_only_token = Some(token.into());
        self
    }

    /// Sets the largest request body accepted.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets how often the events endpoint looks for changes.
    pub fn events_interval(mut self, interval: Duration) -> Self {
        self.events_interval = interval;
        self
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            token: None,
            read_only_token: None,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            events_interval: Duration::from_millis(250),
        }
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field(
                "read_only_token",
                &self.read_only_token.as_ref().map(|_| "<set>"),
            )
            .field("body_limit", &self.body_limit)
            .field("events_interval", &self.events_interval)
            .finish()
    }
}
