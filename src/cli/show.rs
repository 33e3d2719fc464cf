//! `jobstore show`.

use super::format::{self, JobView};
use super::CliError;
use crate::{JobId, JobStore};

/// Prints one job in full.
pub(super) async fn run(store: &dyn JobStore, id: JobId, json: bool) -> Result<(), CliError> {
    let job = store.get(id).await?;
    let attempts = store.attempts(id).await?;
    let view = JobView::load(store, job).await?;
    if json {
        let mut value = serde_json::to_value(&view).map_err(|e| CliError::Output(e.to_string()))?;
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "attempts".into(),
                serde_json::to_value(&attempts).map_err(|e| CliError::Output(e.to_string()))?,
            );
        }
        println!("{}", format::json(&value)?);
        return Ok(());
    }
    let job = &view.job;
    let mut lines = vec![
        ("id", job.id.to_string()),
        ("type", job.job_type.clone()),
        ("status", view.status()),
        (
            "queue",
            format!("{} (priority {})", job.queue, job.priority),
        ),
        ("progress", format::progress(job)),
        ("attempt", format::attempts(job)),
        ("retries", job.retry_count.to_string()),
        ("params", job.params.to_string()),
        ("created", format::time(job.created_at)),
        ("run at", format::time(job.run_at)),
    ];
    let optional = [
        ("started", job.started_at.map(format::time)),
        ("finished", job.completed_at.map(format::time)),
        ("worker", job.locked_by.clone()),
        ("lease until", job.lease_expires_at.map(format::time)),
        ("correlation", job.correlation_id.clone()),
        ("unique key", job.unique.as_ref().map(|u| u.key.clone())),
        ("retry of", job.retry_of.map(|id| id.to_string())),
        ("result", job.result.as_ref().map(|r| r.to_string())),
        ("error", job.error.clone()),
    ];
    lines.extend(
        optional
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key, v))),
    );
    for (key, value) in lines {
        println!("{key:>12}: {value}");
    }
    if !attempts.is_empty() {
        println!("\nattempts:");
    }
    for record in &attempts {
        let took = match (record.started_at, record.finished_at) {
            (Some(start), Some(end)) => format!(
                ", took {}",
                humantime::format_duration((end - start).to_std().unwrap_or_default())
            ),
            _ => String::new(),
        };
        let mut line = format!(
            "  #{} {} on {}, started {}{took}",
            record.attempt,
            record.outcome,
            record.worker.as_deref().unwrap_or("an unknown worker"),
            record.started_at.map_or_else(|| "?".into(), format::time),
        );
        if let Some(by) = &record.ended_by {
            let when = record.finished_at.map_or_else(|| "?".into(), format::time);
            line.push_str(&format!("; rescued by {by} at {when}"));
        }
        println!("{line}");
        if let Some(error) = &record.error {
            for error_line in error.lines() {
                println!("      {error_line}");
            }
        }
    }
    Ok(())
}
