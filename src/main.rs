//! The `jobstore` binary: parses arguments and hands them to the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use jobstore::cli::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's failures are staged and shown in its summary; log lines
    // would only scribble over its progress bars. A worker tells each job's
    // start and end; other commands only what went wrong.
    let default_level = match cli.command {
        Command::Demo => "error",
        Command::Worker(_) | Command::Serve(_) => "warn,jobstore=info",
        _ => "warn",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => subscriber.json().init(),
        LogFormat::Text => subscriber
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .init(),
    }
    match cli.run().await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
