//! `jobstore workers`.

use chrono::Utc;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use super::{format, CliError};
use crate::JobStore;

/// Lists the workers seen in the last day: alive ones first.
pub(super) async fn run(store: &dyn JobStore, json: bool) -> Result<(), CliError> {
    let mut workers = store.workers().await?;
    workers.sort_by_key(|w| !w.alive);
    if json {
        println!("{}", format::json(&workers)?);
        return Ok(());
    }
    if workers.is_empty() {
        println!("no worker has run in the last day");
        return Ok(());
    }
    let now = Utc::now();
    let ago = |at: chrono::DateTime<Utc>| {
        let secs = (now - at).num_seconds().max(0) as u64;
        format!(
            "{} ago",
            humantime::format_duration(std::time::Duration::from_secs(secs))
        )
    };
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "WORKER",
        "STATE",
        "HOST",
        "PID",
        "QUEUES",
        "RUNNING",
        "STARTED",
        "LAST SEEN",
        "VERSION",
    ]);
    for w in &workers {
        let queues: Vec<String> = w
            .info
            .queues
            .iter()
            .map(|(queue, n)| format!("{queue}={n}"))
            .collect();
        let state = match (w.alive, w.stopped_at) {
            (true, _) => "alive".to_string(),
            (false, Some(_)) => "stopped".to_string(),
            (false, None) => "gone (no heartbeat)".to_string(),
        };
        table.add_row([
            w.info.id.clone(),
            state,
            w.info.host.clone(),
            w.info.pid.to_string(),
            queues.join(" "),
            w.running.to_string(),
            ago(w.started_at),
            ago(w.last_seen_at),
            w.info.version.clone(),
        ]);
    }
    println!("{table}");
    Ok(())
}
