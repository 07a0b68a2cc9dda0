//! How the functions run on the local stack: the process pools with their
//! concurrency limits, or `cargo lambda watch`; what they are given, and where
//! their output goes (the consumer's metrics are on it).

use std::{process::Stdio, sync::Arc, time::Duration};

use kit::lambda::{FunctionSpec, Functions, Launch, OutputSink};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use super::{BoxError, Metrics, StackOptions};

/// What runs the functions, while it runs.
pub(super) enum Running {
    Watch(Child),
    Processes(Arc<Functions>),
    Stopped,
}

/// Stops `cargo lambda watch` and, through it, every function instance it runs.
pub(super) async fn stop_watch(child: &mut Child) {
    if let Some(pid) = child.id() {
        signal(pid, "TERM");
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_err()
        {
            signal(pid, "KILL");
            let _ = child.wait().await;
        }
    }
}

pub(super) fn signal(pid: u32, name: &str) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

/// Sorts the functions' output: EMF documents are the consumer's metrics, the
/// rest goes to the log file.
pub(super) async fn read_output(
    stdout: tokio::process::ChildStdout,
    metrics: Metrics,
    mut log: std::fs::File,
) {
    use std::io::Write;
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<Value>(&line) {
            Ok(doc) if doc.get("_aws").is_some() => metrics.push(doc),
            _ => {
                let _ = writeln!(log, "{line}");
            }
        }
    }
}

/// Each function's concurrency limit and timeout on the process pools (the
/// template's `Timeout`s, `tests/tests/infra/functions.rs` checks). A
/// contact holds at most one instance of start or check-timeout at a time, and
/// up to two of an echo (one may still be sleeping for a run that timed out),
/// the workspace's or the original Rules Engine's (`integration-legacy`, the
/// kit's); the consumer is called by the stream poller, the schedule and the
/// demo's sweeps.
pub fn function_specs(options: &StackOptions) -> [FunctionSpec; 5] {
    let per_call = options.in_flight.min(options.max_instances).max(1);
    let echo = (2 * options.in_flight).min(options.max_instances).max(1);
    [
        ("integration-start", per_call, 30),
        ("check-timeout", per_call, 8),
        ("integration-echo", echo, 30),
        ("integration-legacy", echo, 30),
        ("stream-consumer", 4, 60),
    ]
    .map(|(name, limit, timeout_s)| FunctionSpec {
        name,
        limit,
        timeout: Duration::from_secs(timeout_s),
        // The template's role for each of the workspace's functions; the
        // original's echo keeps the stack's own credentials, unchecked.
        env: kit::iam::Role::of_function(name)
            .map(|role| role.env().to_vec())
            .unwrap_or_default(),
    })
}

/// What the functions are given on top of Lambda's own variables: the state
/// table, and the endpoints of the front and of the IAM gate before DynamoDB.
pub(super) fn function_env(
    table: &str,
    front_url: &str,
    gate_url: &str,
    options: &StackOptions,
) -> Vec<(String, String)> {
    [
        ("STATE_TABLE", table.to_owned()),
        (
            "ALLOWED_FUNCTIONS",
            kit::iam::LOCAL_ALLOWED_FUNCTIONS.into(),
        ),
        ("AWS_ENDPOINT_URL_LAMBDA", front_url.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", gate_url.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", gate_url.to_owned()),
        (
            "ABANDONED_GRACE_MS",
            options.abandoned_grace.as_millis().to_string(),
        ),
        ("RUST_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `cargo lambda watch`, the task reading its output, and the port it serves on.
pub(super) fn start_watch(
    options: &StackOptions,
    env: &[(String, String)],
    log: &std::fs::File,
    metrics: &Metrics,
) -> Result<(Child, tokio::task::JoinHandle<()>, u16), BoxError> {
    let watch_port = free_port()?;
    // `cargo-lambda` itself, not `cargo lambda`: it puts itself in a session of
    // its own, so only its own pid reaches it, and it stops its instances on SIGTERM.
    // It watches the sources: a function saved during a run is rebuilt and reloaded.
    let mut watch = Command::new("cargo-lambda")
        .args([
            "lambda",
            "watch",
            "--quiet",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args([
            "--invoke-port",
            &watch_port.to_string(),
            "--concurrency",
            &(2 * options.in_flight + 2)
                .min(options.max_instances.max(1))
                .to_string(),
        ])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log.try_clone()?))
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| {
            format!("could not start `cargo lambda watch` (is cargo-lambda installed?): {err}")
        })?;
    let reader = tokio::spawn(read_output(
        watch.stdout.take().expect("piped"),
        metrics.clone(),
        log.try_clone()?,
    ));
    Ok((watch, reader, watch_port))
}

/// The functions' process pools, their output read for the consumer's metrics.
pub(super) fn start_pools(
    options: &StackOptions,
    bin_dir: &std::path::Path,
    env: Vec<(String, String)>,
    log: &std::fs::File,
    metrics: &Metrics,
) -> Result<Arc<Functions>, BoxError> {
    let (sink_metrics, sink_log) = (metrics.clone(), log.try_clone()?);
    let stdout: OutputSink = Arc::new(move |out| {
        if let Ok(log) = sink_log.try_clone() {
            tokio::spawn(read_output(out, sink_metrics.clone(), log));
        }
    });
    let launch = Launch {
        bin_dir: bin_dir.to_owned(),
        env,
        // The endpoints and credentials the demo was started with.
        inherit_env: true,
        log: log.try_clone()?,
        stdout,
    };
    Ok(Arc::new(Functions::start(
        launch,
        &function_specs(options),
    )?))
}

/// A port that was free a moment ago, on 127.0.0.1.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
