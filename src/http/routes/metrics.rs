//! `GET /metrics`, in the Prometheus text format.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::http::job_stats::job_stats;
use crate::http::HttpState;

/// The Prometheus text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Refreshes the job count gauges, then renders every metric; 404 when this
/// server was given no Prometheus recorder.
pub(crate) async fn render(State(state): State<HttpState>) -> Result<Response, ApiError> {
    let Some(handle) = state.prometheus_handle() else {
        return Err(ApiError::not_found(
            "metrics are not enabled on this server (no Prometheus recorder was installed)",
        ));
    };
    let stats = job_stats(state.store().as_ref()).await?;
    state.gauges().set(&stats.by_status, &stats.by_type);
    Ok(([(header::CONTENT_TYPE, TEXT_FORMAT)], handle.render()).into_response())
}
