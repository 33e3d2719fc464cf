//! The HTTP API and the live dashboard.
//!
//! [`router`] builds an [`axum::Router`] over an [`HttpState`]: serve it
//! with [`serve`] (as `jobstore serve` does) or mount it under a path of
//! your own service. The request and response bodies are the public serde
//! types of [`types`], re-exported here, so a Rust client can reuse them.
//!
//! | endpoint | answers |
//! | --- | --- |
//! | `POST /jobs` | 201 with the [`JobResponse`]; body: [`EnqueueRequest`], or an array of them ([`EnqueueBody`]): 201 with the jobs, all created in one transaction or none |
//! | `POST /jobs/bulk` | retry, cancel or delete every job a [`JobFilter`](crate::JobFilter) matches: a [`BulkOutcome`](crate::BulkOutcome) |
//! | `GET /jobs/{id}` | the [`JobResponse`]: status, stage, progress, queue position, attempts, result or error |
//! | `GET /jobs/{id}/attempts` | every [`AttemptRecord`](crate::AttemptRecord) of the job, first to last: worker, start, end, outcome, full error |
//! | `POST /jobs/{id}/cancel` | 200 with a [`CancelResponse`]; 409 when it had finished |
//! | `POST /jobs/{id}/retry` | 201 with the new job; 409 unless it failed or was cancelled |
//! | `GET /jobs?status=&type=&queue=&correlation_id=&q=&limit=&cursor=` | a [`JobListResponse`], newest first; `q` searches ([`ListQuery::search`](crate::ListQuery::search)) |
//! | `DELETE /jobs/{id}` | deletes a job that is not running: a [`BulkOutcome`](crate::BulkOutcome); 409 while it runs |
//! | `GET /jobs/{id}/events` | server-sent `job` events on each change, ending after the last |
//! | `GET /workers` | every [`WorkerRecord`](crate::WorkerRecord) seen in the last day: host, pid, queues, jobs running, alive or gone |
//! | `GET /stats` | a [`StatsResponse`] |
//! | `GET /stats/activity?range=hour\|day` | an [`ActivityResponse`]: each queue's activity over time |
//! | `GET /events` | server-sent `stats` events (a [`StatsResponse`]) when the counts change, `change` events when something else did |
//! | `GET /healthz` | a [`HealthResponse`]: 200 or 503; without a token (when one is configured) only `{"status": ...}` |
//! | `GET /metrics` | the Prometheus text format |
//! | `GET /`, and `/jobs`, `/jobs/{id}`, `/queues`, `/workers`, `/cron` for `Accept: text/html` | the dashboard's pages |
//!
//! Every error is an [`ErrorResponse`] with a stable [`ErrorCode`].

mod auth;
mod config;
mod error;
mod extract;
mod job_stats;
mod mount;
mod routes;
mod serve;
mod state;
pub mod types;

pub use config::HttpConfig;
pub use routes::events::{ERROR_EVENT, JOB_EVENT};
pub use routes::router;
pub use serve::serve;
pub use state::HttpState;
pub use types::{
    ActivityResponse, CancelAction, CancelResponse, Delay, EnqueueBody, EnqueueRequest, ErrorBody,
    ErrorCode, ErrorResponse, HealthResponse, JobListResponse, JobResponse, StatsResponse,
};
