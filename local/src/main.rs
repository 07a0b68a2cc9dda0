//! `local-stack`: the project's local tooling, one subcommand each.
//!
//! ```text
//! local-stack replay <file or folder> [--table NAME]
//! local-stack poll [--table NAME] [--function NAME] [--from trim-horizon|latest]
//! local-stack bench-consumer [--repetitions N]
//! ```
//!
//! They talk to whatever `AWS_ENDPOINT_URL_DYNAMODB` (and `..._DYNAMODB_STREAMS`,
//! `..._LAMBDA`) point at: DynamoDB Local, on the local stack.

mod cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local-stack: {}", cli::report(err.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
