//! The cron schedule endpoints: `GET /cron`, `PUT|DELETE /cron/{name}`,
//! `POST /cron/{name}/enable|disable`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::cron::CronSchedule;
use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, ScheduleNamePath};
use crate::http::types::DeclareScheduleRequest;
use crate::http::HttpState;

/// Every schedule, by name.
pub(crate) async fn list(
    State(state): State<HttpState>,
) -> Result<Json<Vec<CronSchedule>>, ApiError> {
    Ok(Json(state.store().list_schedules().await?))
}

/// One schedule; 404 when unknown.
pub(crate) async fn show(
    State(state): State<HttpState>,
    ScheduleNamePath(name): ScheduleNamePath,
) -> Result<Json<CronSchedule>, ApiError> {
    Ok(Json(state.store().get_schedule(&name).await?))
}

/// Declares the schedule `name` (idempotent); 400 naming what is wrong
/// with an invalid expression, timezone or job (an unknown type or params
/// that do not fit it, where the server knows the job types).
pub(crate) async fn declare(
    State(state): State<HttpState>,
    ScheduleNamePath(name): ScheduleNamePath,
    JsonBody(request): JsonBody<DeclareScheduleRequest>,
) -> Result<Json<CronSchedule>, ApiError> {
    let schedule = request.into_schedule(&name);
    state.check_schedule(&schedule)?;
    Ok(Json(state.store().declare_schedule(&schedule).await?))
}

/// Enables a schedule: it fires from its next tick on.
pub(crate) async fn enable(
    State(state): State<HttpState>,
    ScheduleNamePath(name): ScheduleNamePath,
) -> Result<Json<CronSchedule>, ApiError> {
    Ok(Json(state.store().set_schedule_enabled(&name, true).await?))
}

/// Disables a schedule.
pub(crate) async fn disable(
    State(state): State<HttpState>,
    ScheduleNamePath(name): ScheduleNamePath,
) -> Result<Json<CronSchedule>, ApiError> {
    Ok(Json(
        state.store().set_schedule_enabled(&name, false).await?,
    ))
}

/// Deletes a schedule (its jobs stay): 204.
pub(crate) async fn delete(
    State(state): State<HttpState>,
    ScheduleNamePath(name): ScheduleNamePath,
) -> Result<StatusCode, ApiError> {
    state.store().delete_schedule(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
