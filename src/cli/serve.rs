//! `jobstore serve`: the HTTP API and dashboard, optionally with a worker.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{builtin_registry, CliError};
use crate::http::{HttpConfig, HttpState};
use crate::metrics::{install_prometheus, MeteredStore};
use crate::worker::{Worker, WorkerConfig};
use crate::JobStore;

/// Arguments of `jobstore serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on. Beyond loopback, a token is required.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Also run a worker in this process for the job types built into
    /// this binary; jobs and schedules of other types are then refused at
    /// POST /jobs and PUT /cron unless --any-type is given.
    #[arg(long)]
    worker: bool,
    /// With --worker, accept jobs and schedules of types only other
    /// workers know (they wait for those workers).
    #[arg(long, requires = "worker")]
    any_type: bool,
    /// With --worker, the only programs its jobs may start (repeat, or
    /// separate with commas); by default any program.
    #[arg(long, requires = "worker", value_delimiter = ',')]
    exec_allow: Vec<String>,
    /// With --worker, delete finished jobs once they finished this long
    /// ago (`7d`, `12h`); by default they are kept.
    #[arg(long, requires = "worker", value_parser = humantime::parse_duration)]
    keep_finished: Option<std::time::Duration>,
    /// Require this bearer token on every request (prefer the environment
    /// variable: arguments are visible to other users of the machine).
    #[arg(long, env = "JOBSTORE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Also accept this bearer token, but only to watch: GET and HEAD
    /// requests, event streams included; anything else gets 403. Needs
    /// --token, and must differ from it.
    #[arg(long, env = "JOBSTORE_READ_ONLY_TOKEN", hide_env_values = true)]
    read_only_token: Option<String>,
}

/// Serves until SIGTERM or SIGINT, then shuts down the server and the
/// worker gracefully.
pub(super) async fn run(store: Arc<dyn JobStore>, args: ServeArgs) -> Result<(), CliError> {
    let token = args.token.filter(|t| !t.is_empty());
    let read_only_token = args.read_only_token.filter(|t| !t.is_empty());
    check_tokens(token.as_deref(), read_only_token.as_deref())?;
    if token.is_none() && !args.bind.ip().is_loopback() {
        return Err(CliError::Input(format!(
            "refusing to serve on {} without a token: anyone who can reach it could enqueue \
             and cancel jobs; set JOBSTORE_TOKEN (or --token), or bind to 127.0.0.1",
            args.bind
        )));
    }
    let store: Arc<dyn JobStore> = Arc::new(MeteredStore::new(store));
    let mut config = HttpConfig::default();
    if let Some(token) = token {
        config = config.token(token);
    }
    if let Some(token) = read_only_token {
        config = config.read_only_token(token);
    }
    let mut state = HttpState::new(Arc::clone(&store)).config(config);
    match install_prometheus() {
        Ok(handle) => state = state.prometheus(handle),
        Err(error) => tracing::warn!(%error, "serving without /metrics"),
    }

    let listener = TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::Server(format!("cannot listen on {}: {e}", args.bind)))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::Server(e.to_string()))?;

    let shutdown = CancellationToken::new();
    let worker = if args.worker {
        let registry = builtin_registry()?;
        if registry.names().is_empty() {
            tracing::warn!("no job types are built into this binary: the worker runs none");
        }
        let worker_config = WorkerConfig {
            job_types: Some(registry.names().into_iter().map(String::from).collect()),
            exec_allow: super::worker::allowlist(&args.exec_allow),
            retention: args.keep_finished.map(crate::worker::Retention::new),
            ..WorkerConfig::default()
        };
        let worker = Worker::new(Arc::clone(&store), registry, worker_config)?;
        state = state.worker(worker.clone());
        if args.any_type {
            state = state.accept_any_type();
        }
        let stop = shutdown.clone();
        let running = worker.clone();
        let mut task = tokio::spawn(async move { running.run(stop).await });
        // Announce the address only once the worker is ready, so that a
        // caller who reads it finds the whole server up.
        tokio::select! {
            _ = worker.ready() => {}
            ended = &mut task => {
                return match ended {
                    Ok(Ok(_)) => Err(CliError::Server("the worker stopped as it started".into())),
                    Ok(Err(error)) => Err(error.into()),
                    Err(error) => Err(CliError::Server(format!("the worker task failed: {error}"))),
                };
            }
        }
        Some(task)
    } else {
        None
    };

    println!("serving the API and dashboard on http://{address}/");
    stop_on_signal(shutdown.clone())?;

    let served = crate::http::serve(listener, state, shutdown.clone()).await;
    shutdown.cancel();
    if let Some(worker) = worker {
        match worker.await {
            Ok(result) => {
                result?;
            }
            Err(error) => tracing::error!(%error, "the worker task failed"),
        }
    }
    served.map_err(|e| CliError::Server(e.to_string()))?;
    println!("stopped");
    Ok(())
}

/// Refuses a read-only token without an operator token (nobody could
/// change anything) or equal to it (it would not be read-only).
fn check_tokens(token: Option<&str>, read_only_token: Option<&str>) -> Result<(), CliError> {
    match (token, read_only_token) {
        (None, Some(_)) => Err(CliError::Input(
            "a read-only token needs an operator token beside it: with only \
             JOBSTORE_READ_ONLY_TOKEN (or --read-only-token), nobody could enqueue or cancel \
             jobs; set JOBSTORE_TOKEN (or --token) too"
                .into(),
        )),
        (Some(token), Some(read_only)) if token == read_only => Err(CliError::Input(
            "the read-only token is the same as the operator token, so it would not be \
             read-only: give JOBSTORE_READ_ONLY_TOKEN (--read-only-token) a value of its own"
                .into(),
        )),
        _ => Ok(()),
    }
}

fn stop_on_signal(shutdown: CancellationToken) -> Result<(), CliError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|e| CliError::Server(format!("cannot listen for SIGTERM: {e}")))?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    Ok(())
}
