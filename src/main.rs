//! The `jobstore` binary: parses arguments and hands them to the library.

use std::process::ExitCode;

use clap::Parser;
use jobstore::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's failures are staged and shown in its summary; log lines
    // would only scribble over its progress bars.
    let default_level = match cli.command {
        Command::Demo => "error",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.run().await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
