//! `jobstore list`.

use clap::Args;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use super::format::{self, JobView};
use super::CliError;
use crate::{JobStatus, JobStore, ListQuery};

/// Arguments of `jobstore list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs in this status (pending, running, completed, failed,
    /// cancelled).
    #[arg(long)]
    status: Option<JobStatus>,
    /// Only jobs of this type.
    #[arg(long = "type")]
    job_type: Option<String>,
    /// Only jobs with this correlation id.
    #[arg(long)]
    correlation_id: Option<String>,
    /// Only jobs in this queue.
    #[arg(long)]
    queue: Option<String>,
    /// Only jobs this text finds: an id or its last characters, a
    /// correlation id, or text in params or errors (among the newest
    /// 10,000 jobs).
    #[arg(long)]
    search: Option<String>,
    /// The most jobs to show.
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl ListArgs {
    /// The jobs with `correlation_id`, as `--correlation-id` lists them.
    pub(super) fn with_correlation_id(correlation_id: String, limit: u32, json: bool) -> Self {
        ListArgs {
            status: None,
            job_type: None,
            correlation_id: Some(correlation_id),
            queue: None,
            search: None,
            limit,
            json,
        }
    }
}

/// Prints the newest jobs matching the filters.
pub(super) async fn run(store: &dyn JobStore, args: ListArgs) -> Result<(), CliError> {
    let mut query = ListQuery::default().limit(args.limit);
    if let Some(status) = args.status {
        query = query.status(status);
    }
    if let Some(job_type) = args.job_type {
        query = query.job_type(job_type);
    }
    if let Some(id) = args.correlation_id {
        query = query.correlation_id(id);
    }
    if let Some(queue) = args.queue {
        query = query.queue(queue);
    }
    if let Some(text) = args.search {
        query = query.search(text);
    }
    let page = store.list(&query).await?;
    let mut views = Vec::with_capacity(page.jobs.len());
    for job in page.jobs {
        views.push(JobView::load(store, job).await?);
    }
    if args.json {
        println!("{}", format::json(&views)?);
        return Ok(());
    }
    if views.is_empty() {
        println!("no jobs");
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["ID", "TYPE", "STATUS", "PROGRESS", "ATTEMPT", "CREATED"]);
    for view in &views {
        table.add_row([
            view.job.id.to_string(),
            view.job.job_type.clone(),
            view.status(),
            format::progress(&view.job),
            format::attempts(&view.job),
            format::time(view.job.created_at),
        ]);
    }
    println!("{table}");
    if page.next_cursor.is_some() {
        println!("(more jobs: raise --limit or filter)");
    }
    Ok(())
}
