//! A real server on a real socket over a real SQLite file, and a client.

use std::sync::Arc;
use std::time::Duration;

use jobstore::http::{ErrorCode, ErrorResponse, HttpConfig, HttpState, JobResponse, StatsResponse};
use jobstore::metrics::{install_prometheus, MeteredStore};
use jobstore::{ClaimRequest, Claimed, JobId, JobStore, SqliteStore};
use reqwest::{Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;

/// How long any wait in these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A server listening on 127.0.0.1, stopped when dropped.
pub struct Server {
    pub base: String,
    pub store: Arc<dyn JobStore>,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(HttpConfig::default().events_interval(Duration::from_millis(20))).await
    }

    pub async fn start_with(config: HttpConfig) -> Server {
        Self::start_with_state(config, |state| state).await
    }

    /// A server whose state `tune` changes before it serves.
    pub async fn start_with_state(
        config: HttpConfig,
        tune: impl FnOnce(HttpState) -> HttpState,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
        let store: Arc<dyn JobStore> = Arc::new(MeteredStore::new(Arc::new(sqlite)));
        // One recorder for the whole test process: every server shares it.
        let metrics = install_prometheus().unwrap();
        let state = tune(
            HttpState::new(Arc::clone(&store))
                .config(config)
                .prometheus(metrics),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(jobstore::http::serve(listener, state, shutdown.clone()));
        Server {
            base,
            store,
            client: reqwest::Client::new(),
            shutdown,
            task: Some(task),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str) -> Response {
        self.client.post(self.url(path)).send().await.unwrap()
    }

    pub async fn put_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Claims the one pending job of `job_type`, as a worker would.
    pub async fn claim(&self, job_type: &str) -> Claimed {
        let request = ClaimRequest::new("test-worker", 1).job_types([job_type]);
        let mut claimed = self.store.claim(&request).await.unwrap();
        assert_eq!(claimed.len(), 1, "one {job_type} job to claim");
        claimed.remove(0)
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("the server stops")
                .unwrap()
                .unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The body, parsed, after checking the status.
pub async fn expect<T: serde::de::DeserializeOwned>(response: Response, status: StatusCode) -> T {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Checks an error response's status and code; returns its message.
pub async fn expect_error(response: Response, status: StatusCode, code: ErrorCode) -> String {
    let body: ErrorResponse = expect(response, status).await;
    assert_eq!(body.error.code, code, "{}", body.error.message);
    body.error.message
}

pub fn id_of(job: &serde_json::Value) -> JobId {
    job["id"].as_str().unwrap().parse().unwrap()
}

impl Server {
    /// Claims the one pending job of `job_type` in `queue`, as a worker of
    /// that queue would.
    pub async fn claim_from(&self, queue: &str, job_type: &str) -> Claimed {
        let request = ClaimRequest::new("test-worker", 1)
            .queue(queue)
            .job_types([job_type]);
        let mut claimed = self.store.claim(&request).await.unwrap();
        assert_eq!(claimed.len(), 1, "one {job_type} job in {queue} to claim");
        claimed.remove(0)
    }
}

/// Reads server-sent events from a streaming response.
pub struct EventReader {
    response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event as (name, data); `None` once the stream ended.
    pub async fn next(&mut self) -> Option<(String, String)> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.trim_start().to_string());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, data.join("\n")));
            }
            let chunk = timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event or the end of the stream in time")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event, a `job` event's job.
    pub async fn next_job(&mut self) -> JobResponse {
        let (name, data) = self.next().await.expect("another event");
        assert_eq!(name, "job", "{data}");
        serde_json::from_str(&data).unwrap()
    }

    /// The next `stats` event's counts; `change` events before it are
    /// passed over.
    pub async fn next_stats(&mut self) -> StatsResponse {
        loop {
            match self.next().await.expect("another event") {
                (name, _) if name == "change" => continue,
                (name, data) => {
                    assert_eq!(name, "stats", "{data}");
                    return serde_json::from_str(&data).unwrap();
                }
            }
        }
    }
}
