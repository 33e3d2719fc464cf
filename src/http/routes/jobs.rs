//! `POST /jobs` (one job or a batch), `GET /jobs` and `GET /jobs/{id}`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::view::{job_response, job_responses};
use crate::http::error::ApiError;
use crate::http::extract::{JobIdPath, JsonBody};
use crate::http::types::{EnqueueBody, EnqueueRequest, ErrorCode, JobListResponse, JobResponse};
use crate::http::HttpState;
use crate::job::{JobId, JobStatus};
use crate::store::{AttemptRecord, ListQuery};

/// Creates a job: 201 with the job (200 with the holder of its unique
/// key); or, for an array, creates every job in one transaction: 201 with
/// the jobs in order, or nothing at all when one is refused.
pub(crate) async fn enqueue(
    State(state): State<HttpState>,
    JsonBody(body): JsonBody<EnqueueBody>,
) -> Result<Response, ApiError> {
    let requests = match body {
        EnqueueBody::One(request) => return enqueue_one(&state, request).await,
        EnqueueBody::Many(requests) => requests,
    };
    if requests.is_empty() || requests.len() > EnqueueBody::MAX_BATCH {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!(
                "a batch holds {} jobs; it must hold 1 to {}",
                requests.len(),
                EnqueueBody::MAX_BATCH
            ),
        ));
    }
    let mut jobs = Vec::with_capacity(requests.len());
    for (i, request) in requests.into_iter().enumerate() {
        let refused =
            |e: String| ApiError::bad_request(ErrorCode::InvalidRequest, format!("job {i}: {e}"));
        let mut job = request.into_new_job().map_err(refused)?;
        job.validate().map_err(|e| refused(e.to_string()))?;
        state
            .check_job(&mut job)
            .map_err(|e| refused(e.to_string()))?;
        jobs.push(job);
    }
    let store = state.store().as_ref();
    let enqueued = store.enqueue_many(jobs).await?;
    if let (true, Some(worker)) = (enqueued.iter().any(|e| !e.existing), state.worker_ref()) {
        worker.wake();
    }
    let jobs = job_responses(store, enqueued.into_iter().map(|e| e.job).collect()).await?;
    Ok((StatusCode::CREATED, Json(jobs)).into_response())
}

async fn enqueue_one(state: &HttpState, request: EnqueueRequest) -> Result<Response, ApiError> {
    let mut job = request
        .into_new_job()
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidRequest, e))?;
    state.check_job(&mut job)?;
    let enqueued = state.store().enqueue(job).await?;
    if let (false, Some(worker)) = (enqueued.existing, state.worker_ref()) {
        worker.wake();
    }
    let status = if enqueued.existing {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let response = job_response(state.store().as_ref(), enqueued.job).await?;
    Ok((status, Json(response)).into_response())
}

/// One job, with its queue position while pending.
pub(crate) async fn show(
    State(state): State<HttpState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<JobResponse>, ApiError> {
    let job = state.store().get(id).await?;
    Ok(Json(job_response(state.store().as_ref(), job).await?))
}

/// Every attempt of one job, first to last (404 for an unknown job).
pub(crate) async fn attempts(
    State(state): State<HttpState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<Vec<AttemptRecord>>, ApiError> {
    Ok(Json(state.store().attempts(id).await?))
}

/// The query of `GET /jobs`; every field optional, empty ones ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    status: Option<String>,
    #[serde(rename = "type")]
    job_type: Option<String>,
    correlation_id: Option<String>,
    queue: Option<String>,
    /// A search: see [`ListQuery::search`].
    q: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// Jobs newest first, filtered, one page at a time.
pub(crate) async fn list(
    State(state): State<HttpState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<JobListResponse>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let query = list_query(params)?;
    let store = state.store().as_ref();
    let page = store.list(&query).await?;
    let jobs = job_responses(store, page.jobs).await?;
    Ok(Json(JobListResponse {
        jobs,
        next_cursor: page.next_cursor,
    }))
}

fn list_query(params: ListParams) -> Result<ListQuery, ApiError> {
    let invalid = |message: String| ApiError::bad_request(ErrorCode::InvalidQuery, message);
    let given = |value: Option<String>| value.filter(|v| !v.is_empty());
    let mut query = ListQuery::default();
    if let Some(status) = given(params.status) {
        let status: JobStatus = status.parse().map_err(|e| invalid(format!("{e}")))?;
        query = query.status(status);
    }
    if let Some(job_type) = given(params.job_type) {
        query = query.job_type(job_type);
    }
    if let Some(id) = given(params.correlation_id) {
        query = query.correlation_id(id);
    }
    if let Some(queue) = given(params.queue) {
        query = query.queue(queue);
    }
    if let Some(text) = given(params.q) {
        query = query.search(text);
    }
    if let Some(limit) = given(params.limit) {
        let limit: u32 = limit.parse().map_err(|_| {
            invalid(format!(
                "limit {limit:?} is not a number from 1 to {}",
                ListQuery::MAX_LIMIT
            ))
        })?;
        query = query.limit(limit);
    }
    if let Some(cursor) = given(params.cursor) {
        let cursor: JobId = cursor
            .parse()
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidId, format!("cursor: {e}")))?;
        query = query.after(cursor);
    }
    Ok(query)
}
