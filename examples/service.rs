//! A service-style worker: its own typed job types next to the built-in
//! `exec`, the store chosen by the environment (`JOB_STORE_BACKEND`,
//! `JOB_STORE_DB_PATH`, `TURSO_DATABASE_URL`, `TURSO_AUTH_TOKEN`), and a
//! graceful shutdown on SIGTERM/SIGINT.
//!
//! ```sh
//! cargo run --release --example service
//! jobstore enqueue send_welcome_email --params '{"to": "ada@example.com"}'
//! ```

use std::time::Duration;

use async_trait::async_trait;
use jobstore::cron::NewCronSchedule;
use jobstore::exec::Exec;
use jobstore::store::StoreConfig;
use jobstore::worker::{JobContext, JobError, JobType, Registry, Worker, WorkerConfig};
use serde::{Deserialize, Serialize};

/// The service's own job type.
struct SendWelcomeEmail;

#[derive(Serialize, Deserialize)]
struct Email {
    to: String,
}

#[derive(Serialize)]
struct Sent {
    message_id: String,
}

#[async_trait]
impl JobType for SendWelcomeEmail {
    const NAME: &'static str = "send_welcome_email";
    const STAGES: &'static [&'static str] = &["rendering", "sending"];
    type Params = Email;
    type Output = Sent;

    fn timeout(&self) -> Duration {
        Duration::from_secs(30)
    }

    async fn run(&self, email: Email, ctx: &JobContext) -> Result<Sent, JobError> {
        if !email.to.contains('@') {
            return Err(JobError::permanent(format!(
                "{:?} is not an address",
                email.to
            )));
        }
        ctx.progress("rendering", None).await?;
        ctx.progress("sending", Some(50.0)).await?;
        tracing::info!(to = %email.to, "welcome email sent");
        Ok(Sent {
            message_id: format!("msg-{}", ctx.job().id),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let store = StoreConfig::from_env()?.open().await?;
    // Declared at every start: idempotent, and an operator's disable stays.
    store
        .declare_schedule(
            &NewCronSchedule::new("daily-digest", SendWelcomeEmail::NAME, "0 8 * * *")
                .params(serde_json::json!({ "to": "team@example.com" })),
        )
        .await?;
    let mut registry = Registry::new();
    registry.register(SendWelcomeEmail)?.register(Exec)?;
    let worker = Worker::new(store, registry, WorkerConfig::default())?;
    tracing::info!(worker_id = %worker.config().worker_id, "service worker started");
    let summary = worker.run_until_signal().await?;
    tracing::info!(?summary, "service worker stopped");
    Ok(())
}
