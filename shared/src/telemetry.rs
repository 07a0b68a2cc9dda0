//! Logging set-up, once per function: JSON lines on Lambda, so CloudWatch Logs
//! Insights can query `contact_id`, `run_id` and `status` as fields; compact text
//! elsewhere. `RUST_LOG` filters as usual (default `info`).
//!
//! Logs name contacts and runs by id only: a caller's phone number and contact
//! attribute values never reach a log line.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        // Lambda stamps every line with its own time; ANSI codes would garble the JSON.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .without_time()
            .init();
    } else {
        builder.compact().init();
    }
}

/// An error with its whole chain of sources, `: `-separated, for one log field
/// or message. Errors of this workspace name ids and statuses, never state values.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
