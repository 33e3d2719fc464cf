//! `jobstore cron`: declare, list, enable, disable and delete schedules.

use clap::{Args, Subcommand};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;

use super::enqueue::refusal;
use super::format;
use super::list::{self, ListArgs};
use super::registry::builtin_registry;
use super::CliError;
use crate::cron::{CronSchedule, NewCronSchedule};
use crate::worker::ProgramAllowlist;
use crate::JobStore;

/// What to do with cron schedules.
#[derive(Debug, Subcommand)]
pub enum CronCommand {
    /// Create a schedule, or update the one with this name (idempotent).
    #[command(alias = "set")]
    Add(AddArgs),
    /// List every schedule.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Enable a schedule: it fires from its next tick on.
    Enable {
        /// The schedule's name.
        name: String,
        /// Print the schedule as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable a schedule: it fires no more until enabled.
    Disable {
        /// The schedule's name.
        name: String,
        /// Print the schedule as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a schedule (the jobs it enqueued stay).
    #[command(alias = "delete")]
    Rm {
        /// The schedule's name.
        name: String,
        /// Print `{"deleted": NAME}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the jobs a schedule enqueued, newest first.
    Runs {
        /// The schedule's name.
        name: String,
        /// The most jobs to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `jobstore cron add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The schedule's unique name.
    name: String,
    /// The type of the jobs it enqueues.
    #[arg(long = "type")]
    job_type: String,
    /// The cron expression: 5 fields (minute hour day-of-month month
    /// day-of-week), or 6 with seconds first; e.g. "30 2 * * *".
    #[arg(long = "cron")]
    expression: String,
    /// The IANA timezone the expression is read in.
    #[arg(long, default_value = NewCronSchedule::DEFAULT_TIMEZONE)]
    timezone: String,
    /// The params of every job, as JSON.
    #[arg(long, default_value = "{}")]
    params: String,
    /// How many attempts every job gets.
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Accept a job type this binary does not run (one only your own
    /// workers know); by default only built-in types, with params that fit.
    #[arg(long)]
    any_type: bool,
    /// Print the stored schedule as JSON (as `GET /cron/{name}` does).
    #[arg(long)]
    json: bool,
}

/// Runs one `jobstore cron` command.
pub(super) async fn run(store: &dyn JobStore, command: CronCommand) -> Result<(), CliError> {
    match command {
        CronCommand::Add(args) => add(store, args).await,
        CronCommand::List { json } => show_all(store, json).await,
        CronCommand::Enable { name, json } => {
            let schedule = store.set_schedule_enabled(&name, true).await?;
            if json {
                println!("{}", format::json(&schedule)?);
            } else {
                println!("{name}: enabled; next run {}", next_run(&schedule));
            }
            Ok(())
        }
        CronCommand::Disable { name, json } => {
            let schedule = store.set_schedule_enabled(&name, false).await?;
            if json {
                println!("{}", format::json(&schedule)?);
            } else {
                println!("{name}: disabled");
            }
            Ok(())
        }
        CronCommand::Rm { name, json } => {
            store.delete_schedule(&name).await?;
            if json {
                println!("{}", format::json(&serde_json::json!({ "deleted": name }))?);
            } else {
                println!("{name}: deleted (its jobs stay)");
            }
            Ok(())
        }
        CronCommand::Runs { name, limit, json } => {
            let schedule = store.get_schedule(&name).await?;
            let args = ListArgs::with_correlation_id(schedule.correlation_id(), limit, json);
            list::run(store, args).await
        }
    }
}

async fn add(store: &dyn JobStore, args: AddArgs) -> Result<(), CliError> {
    let params: serde_json::Value = serde_json::from_str(&args.params)
        .map_err(|e| CliError::Input(format!("--params is not valid JSON: {e}")))?;
    let mut schedule = NewCronSchedule::new(&args.name, args.job_type, args.expression)
        .timezone(args.timezone)
        .params(params);
    if let Some(n) = args.max_attempts {
        schedule = schedule.max_attempts(n);
    }
    if !args.any_type {
        // What is wrong with the schedule itself is said first.
        schedule.validate()?;
        let registry = builtin_registry()?;
        registry
            .check_schedule(&schedule, &ProgramAllowlist::any())
            .map_err(|e| refusal(&registry, &schedule.job_type, e))?;
    }
    let stored = store.declare_schedule(&schedule).await?;
    if args.json {
        println!("{}", format::json(&stored)?);
    } else {
        println!("{}: next run {}", stored.name, next_run(&stored));
    }
    Ok(())
}

async fn show_all(store: &dyn JobStore, json: bool) -> Result<(), CliError> {
    let schedules = store.list_schedules().await?;
    if json {
        println!("{}", format::json(&schedules)?);
        return Ok(());
    }
    if schedules.is_empty() {
        println!("no cron schedules");
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "NAME", "TYPE", "CRON", "TIMEZONE", "ENABLED", "NEXT RUN", "LAST RUN", "LAST JOB",
    ]);
    for s in &schedules {
        table.add_row([
            s.name.clone(),
            s.job_type.clone(),
            s.cron_expression.clone(),
            s.timezone.clone(),
            if s.enabled { "yes" } else { "no" }.to_string(),
            if s.enabled {
                format::time(s.next_run_at)
            } else {
                "-".to_string()
            },
            s.last_run_at
                .map_or_else(|| "never".to_string(), format::time),
            s.last_job_id
                .map_or_else(|| "-".to_string(), |id| id.to_string()),
        ]);
    }
    println!("{table}");
    Ok(())
}

/// The next run in UTC, and in the schedule's timezone when that differs.
fn next_run(schedule: &CronSchedule) -> String {
    let utc = format::time(schedule.next_run_at);
    match schedule.timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) if tz != chrono_tz::UTC => format!(
            "{utc} ({} {})",
            schedule
                .next_run_at
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S"),
            schedule.timezone
        ),
        _ => utc,
    }
}
