//! `local-stack`: the project's local tooling, one subcommand each
//! (`local-stack --help` lists them: create-table, replay, poll, demo).
//!
//! They talk to whatever `AWS_ENDPOINT_URL_DYNAMODB` (and `..._DYNAMODB_STREAMS`,
//! `..._LAMBDA`) point at: DynamoDB Local, on the local stack.

use clap::Parser;

mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs go to stderr, so stdout holds what the command reports.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .compact()
        .init();
    match cli::Cli::parse().run().await {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "local-stack: {}",
                shared::telemetry::error_chain(err.as_ref())
            );
            std::process::ExitCode::FAILURE
        }
    }
}
