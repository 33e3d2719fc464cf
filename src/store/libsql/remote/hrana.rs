//! A client of a libSQL server's Hrana-over-HTTP protocol (version 3, JSON):
//! `POST /v3/pipeline` with a list of stream requests.
//!
//! The libsql crate's own remote connection sends a statement per request
//! and batches only SQL text without parameters; and every connection it
//! opens builds a new HTTP client, so each operation opened a new TCP (and
//! TLS) connection. This client sends any number of parameterized
//! statements as one batch in one request, over one pool of kept-alive
//! connections per store (hyper's), and uses the protocol's own types
//! (`libsql-hrana`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use libsql_hrana::proto::{
    Batch, BatchResult, BatchStreamReq, CloseStreamReq, ExecuteStreamReq, PipelineReqBody,
    PipelineRespBody, SequenceStreamReq, StmtResult, StreamRequest, StreamResponse, StreamResult,
};

use crate::error::StoreError;

/// What went wrong talking to the server.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum HranaError {
    /// The request did not reach the server, or its answer did not come
    /// back (refused, reset, timed out).
    #[error("{0}")]
    Transport(String),
    /// The server answered with an HTTP error.
    #[error("the server answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// What it said.
        body: String,
    },
    /// The server's answer is not what the protocol says.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// A statement failed (with SQLite's error code, e.g. `SQLITE_BUSY`).
    #[error("{code}: {message}")]
    Sql {
        /// SQLite's code.
        code: String,
        /// SQLite's message.
        message: String,
    },
}

impl HranaError {
    /// As a store error, naming the server at `location`.
    pub(crate) fn into_store_error(self, location: &str) -> StoreError {
        match self {
            HranaError::Transport(reason) => {
                StoreError::database(format!("cannot reach {location}: {reason}"))
            }
            // Too many connections or requests for now: waited out as a
            // busy database is.
            HranaError::Status { status: 429, body } => StoreError::database(format!(
                "{location} is busy (HTTP 429, SQLITE_BUSY): {body}"
            )),
            other => StoreError::database_from(other),
        }
    }
}

/// An HTTP client of one libSQL server.
#[derive(Clone)]
pub(crate) struct HranaClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pipeline_url: hyper::Uri,
    auth: Option<hyper::header::HeaderValue>,
    timeout: Duration,
    requests: Arc<AtomicU64>,
    /// Streams kept open between batches, closed when the last clone of
    /// the client is dropped.
    streams: Arc<Streams>,
}

/// The streams kept open, by their batons.
struct Streams {
    idle: Mutex<Vec<Idle>>,
    /// How to close them.
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    pipeline_url: hyper::Uri,
    auth: Option<hyper::header::HeaderValue>,
}

impl Drop for Streams {
    /// Closes the streams still open, so the server frees their
    /// connections now rather than when they expire (a server has only so
    /// many: sqld 128).
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(PoisonError::into_inner));
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for stream in idle {
            let body = PipelineReqBody {
                baton: Some(stream.baton),
                requests: vec![close()],
            };
            let Ok(body) = serde_json::to_vec(&body) else {
                continue;
            };
            let mut request = hyper::Request::post(self.pipeline_url.clone())
                .header(hyper::header::CONTENT_TYPE, "application/json");
            if let Some(auth) = &self.auth {
                request = request.header(hyper::header::AUTHORIZATION, auth.clone());
            }
            let Ok(request) = request.body(Full::new(Bytes::from(body))) else {
                continue;
            };
            let http = self.http.clone();
            runtime.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), http.request(request)).await;
            });
        }
    }
}

/// A stream waiting for its next batch.
struct Idle {
    baton: String,
    since: Instant,
}

/// The most streams kept open.
const MAX_IDLE_STREAMS: usize = 16;

/// How long a stream is kept idle: a server closes a stream idle for ten
/// seconds (sqld does), and a batch sent on a closed one is answered with
/// an error and sent again on a new one, a round trip lost.
const STREAM_IDLE: Duration = Duration::from_secs(8);

impl std::fmt::Debug for HranaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("HranaClient")
            .field("pipeline_url", &self.pipeline_url)
            .finish_non_exhaustive()
    }
}

/// The server's base URL as HTTP: `libsql://` is `https://`.
pub(crate) fn http_url(url: &str) -> Result<String, String> {
    let url = url.trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("libsql://") {
        return Ok(format!("https://{rest}"));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(url.to_string());
    }
    Err("expected a libsql://, https:// or http:// URL".into())
}

impl HranaClient {
    /// A client of the server at `url` (`libsql://`, `https://` or
    /// `http://`), sending `auth_token` (none when empty); every request
    /// fails after `timeout` without an answer.
    pub(crate) fn new(url: &str, auth_token: &str, timeout: Duration) -> Result<Self, String> {
        let base = http_url(url)?;
        let pipeline_url: hyper::Uri = format!("{base}/v3/pipeline")
            .parse()
            .map_err(|e| format!("not a URL: {e}"))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        let auth = if auth_token.is_empty() {
            None
        } else {
            let mut value =
                hyper::header::HeaderValue::from_str(&format!("Bearer {auth_token}"))
                    .map_err(|_| "the auth token holds characters a header cannot".to_string())?;
            value.set_sensitive(true);
            Some(value)
        };
        Ok(HranaClient {
            streams: Arc::new(Streams {
                idle: Mutex::new(Vec::new()),
                http: client.clone(),
                pipeline_url: pipeline_url.clone(),
                auth: auth.clone(),
            }),
            http: client,
            pipeline_url,
            auth,
            timeout,
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    fn idle_streams(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // Nothing panics while holding the lock.
        self.streams
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `batch` (one that ends with the stream in autocommit mode, as
    /// a batch inside its own transaction does) on a stream kept open from
    /// an earlier request when there is one, and keeps the stream for the
    /// next. A server opens a database connection for every new
    /// stream, and opening it costs more than most batches (sqld 0.24:
    /// about 4 ms against 0.7 ms, mostly system time), so streams are kept
    /// rather than closed after each request. No transaction is ever left
    /// open on a kept stream: it holds no lock between requests.
    pub(crate) async fn send_kept(&self, batch: Batch) -> Result<BatchResult, HranaError> {
        self.send_kept_many(vec![batch])
            .await?
            .pop()
            .unwrap_or_else(|| Err(HranaError::Protocol("a batch got no result".into())))
    }

    /// Sends `batches` as `send_kept` does, all in one request: the server
    /// runs them one after another on one connection, each in its own
    /// transaction, and answers each (the error of one leaves the others
    /// applied). The outer error is the request's: none of them ran, or
    /// their outcome is unknown.
    pub(crate) async fn send_kept_many(
        &self,
        batches: Vec<Batch>,
    ) -> Result<Vec<Result<BatchResult, HranaError>>, HranaError> {
        let baton = {
            let mut idle = self.idle_streams();
            idle.retain(|stream| stream.since.elapsed() < STREAM_IDLE);
            idle.pop().map(|stream| stream.baton)
        };
        let reused = baton.is_some();
        let requests = || {
            batches
                .iter()
                .map(|batch| {
                    StreamRequest::Batch(BatchStreamReq {
                        batch: batch.clone(),
                    })
                })
                .collect::<Vec<_>>()
        };
        let (baton, results) = match self.pipeline(baton, requests()).await {
            // The stream is gone (expired, or the server restarted): the
            // batches did not run; send them on a new stream.
            Err(HranaError::Status { status: 400, .. }) if reused => {
                self.pipeline(None, requests()).await?
            }
            other => other?,
        };
        if let Some(baton) = baton {
            let mut idle = self.idle_streams();
            if idle.len() < MAX_IDLE_STREAMS {
                idle.push(Idle {
                    baton,
                    since: Instant::now(),
                });
            }
        }
        Ok(results.into_iter().map(batch_result).collect())
    }

    /// How many requests this client (and its clones) sent.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends `requests` on the stream `baton` names (a new stream for
    /// `None`) in one HTTP request; returns the stream's baton for the
    /// next request (none once the server closed it) and each request's
    /// result, in order.
    pub(crate) async fn pipeline(
        &self,
        baton: Option<String>,
        requests: Vec<StreamRequest>,
    ) -> Result<(Option<String>, Vec<StreamResult>), HranaError> {
        let expected = requests.len();
        let body = serde_json::to_vec(&PipelineReqBody { baton, requests })
            .map_err(|e| HranaError::Protocol(format!("cannot encode the request: {e}")))?;
        let mut request = hyper::Request::post(self.pipeline_url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(auth) = &self.auth {
            request = request.header(hyper::header::AUTHORIZATION, auth.clone());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| HranaError::Protocol(format!("cannot build the request: {e}")))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| transport(&e))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| transport(&e))?
                .to_bytes();
            Ok::<_, HranaError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| HranaError::Transport(format!("no answer within {:?}", self.timeout)))??;
        if !status.is_success() {
            return Err(HranaError::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).chars().take(500).collect(),
            });
        }
        let answer: PipelineRespBody = serde_json::from_slice(&bytes)
            .map_err(|e| HranaError::Protocol(format!("cannot decode the answer: {e}")))?;
        if answer.results.len() != expected {
            return Err(HranaError::Protocol(format!(
                "{} results for {expected} requests",
                answer.results.len()
            )));
        }
        Ok((answer.baton, answer.results))
    }
}

/// A transport error, with its causes.
fn transport(error: &(dyn std::error::Error + 'static)) -> HranaError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    HranaError::Transport(message)
}

/// The result of one stream request: its response, or its error.
pub(crate) fn response(result: StreamResult) -> Result<StreamResponse, HranaError> {
    match result {
        StreamResult::Ok { response } => Ok(response),
        StreamResult::Error { error } => Err(HranaError::Sql {
            code: error.code,
            message: error.message,
        }),
        StreamResult::None => Err(HranaError::Protocol("a request got no result".into())),
    }
}

/// The batch result of one `batch` request.
pub(crate) fn batch_result(result: StreamResult) -> Result<BatchResult, HranaError> {
    match response(result)? {
        StreamResponse::Batch(batch) => Ok(batch.result),
        other => Err(HranaError::Protocol(format!(
            "expected a batch result, got {other:?}"
        ))),
    }
}

/// The statement result of one `execute` request.
pub(crate) fn execute_result(result: StreamResult) -> Result<StmtResult, HranaError> {
    match response(result)? {
        StreamResponse::Execute(execute) => Ok(execute.result),
        other => Err(HranaError::Protocol(format!(
            "expected a statement result, got {other:?}"
        ))),
    }
}

/// An `execute` request of `sql` with no parameters.
pub(crate) fn execute(sql: &str, want_rows: bool) -> StreamRequest {
    StreamRequest::Execute(ExecuteStreamReq {
        stmt: libsql_hrana::proto::Stmt::new(sql, want_rows),
    })
}

/// A `sequence` request: several statements of SQL text, run in order.
pub(crate) fn sequence(sql: &str) -> StreamRequest {
    StreamRequest::Sequence(SequenceStreamReq {
        sql: Some(sql.to_string()),
        sql_id: None,
        replication_index: None,
    })
}

/// The request that closes the stream.
pub(crate) fn close() -> StreamRequest {
    StreamRequest::Close(CloseStreamReq {})
}
