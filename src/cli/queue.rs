//! `jobstore queue`: list, pause, resume and limit queues.

use clap::Subcommand;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use super::{format, CliError};
use crate::store::QueueInfo;
use crate::JobStore;

/// The `queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Every queue with jobs waiting or running, or with settings.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop workers (on every machine) from starting the queue's jobs;
    /// running ones finish.
    Pause {
        /// The queue.
        name: String,
        /// Print the queue as JSON (as `GET /queues/{name}` does).
        #[arg(long)]
        json: bool,
    },
    /// Let workers start the queue's jobs again.
    Resume {
        /// The queue.
        name: String,
        /// Print the queue as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run at most N of the queue's jobs at once across all workers
    /// (`--none` lifts the limit).
    Limit {
        /// The queue.
        name: String,
        /// The most running jobs.
        #[arg(required_unless_present = "none", conflicts_with = "none")]
        n: Option<u32>,
        /// Lift the limit.
        #[arg(long)]
        none: bool,
        /// Print the queue as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `queue` subcommand.
pub(super) async fn run(store: &dyn JobStore, command: QueueCommand) -> Result<(), CliError> {
    match command {
        QueueCommand::List { json } => list(store, json).await,
        QueueCommand::Pause { name, json } => {
            let queue = store.set_queue_paused(&name, true).await?;
            if json {
                println!("{}", format::json(&queue)?);
            } else {
                println!(
                    "{name}: paused ({} running finish; {} waiting stay pending)",
                    queue.running,
                    queue.available + queue.scheduled
                );
            }
            Ok(())
        }
        QueueCommand::Resume { name, json } => {
            let queue = store.set_queue_paused(&name, false).await?;
            if json {
                println!("{}", format::json(&queue)?);
            } else {
                println!("{name}: resumed ({} waiting)", queue.available);
            }
            Ok(())
        }
        QueueCommand::Limit { name, n, json, .. } => {
            let queue = store.set_queue_limit(&name, n).await?;
            if json {
                println!("{}", format::json(&queue)?);
                return Ok(());
            }
            match n {
                Some(n) => println!("{name}: at most {n} running at once, across all workers"),
                None => println!("{name}: no limit"),
            }
            Ok(())
        }
    }
}

async fn list(store: &dyn JobStore, json: bool) -> Result<(), CliError> {
    let queues = store.queues().await?;
    if json {
        println!("{}", format::json(&queues)?);
        return Ok(());
    }
    if queues.is_empty() {
        println!("no queues: no job is waiting or running");
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "QUEUE",
        "STATE",
        "AVAILABLE",
        "SCHEDULED",
        "RUNNING",
        "LIMIT",
    ]);
    for q in &queues {
        table.add_row(row(q));
    }
    println!("{table}");
    Ok(())
}

fn row(q: &QueueInfo) -> [String; 6] {
    [
        q.name.clone(),
        if q.paused { "paused" } else { "active" }.to_string(),
        q.available.to_string(),
        q.scheduled.to_string(),
        q.running.to_string(),
        q.concurrency_limit
            .map_or_else(|| "-".to_string(), |n| n.to_string()),
    ]
}
