//! `local-stack demo`: the main job, on the local stack. It plays the
//! single-contact [`scenarios`], each with its timeline, then a [`mixed`] run
//! of many concurrent contacts with a progress line, then its [`summary`] and
//! the [`invariants`] (with Connect's [`retried`] calls), judged beside how
//! busy the machine was ([`load`]).
//! Before judging, it waits for what lands after the contacts have played
//! ([`evidence`]): the consumer's metrics, and the late writes of the original
//! Rules Engine's echo and their repair. Last, it writes the [`dashboard`] of
//! the consumer's metrics beside its logs.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use crate::{
    connect::{
        flow::{Flow, Speech},
        simulator::{self, Flows, Played, Scenario, Simulator},
    },
    dashboard,
    stack::{faults::StoreOutage, function_specs, Host, Stack, StackOptions},
};
use load::{Load, LoadWatch};

mod evidence;
mod invariants;
pub mod load;
mod mixed;
mod retried;
mod scenarios;
mod summary;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Single-contact scenarios to play (empty: none).
    pub scenarios: Vec<String>,
    /// Contacts in the mixed run (0: none).
    pub contacts: usize,
    /// Contacts in flight at once in the mixed run.
    pub in_flight: usize,
    /// Contacts of the mixed run arrive evenly over this long (zero: all at once,
    /// as fast as the in-flight limit lets them).
    pub ramp: Duration,
    /// How the caller hears prompts (their length).
    pub speech: Speech,
    /// The contact flows to play: one of each kind at most (the polling flow,
    /// the native one).
    pub flow_files: Vec<PathBuf>,
    pub stack: StackOptions,
    /// Stop DynamoDB Local this long once half the mixed run's contacts have begun.
    pub store_outage: Option<Duration>,
}

/// How a demo ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every expectation and invariant held.
    Held,
    /// An expectation or invariant did not hold: the functions broke a promise.
    Failed,
    /// Everything held but Connect's time limit, which calls broke only while
    /// the machine could not keep up: not a verdict on the functions.
    Overloaded,
}

impl Verdict {
    /// The verdict of two parts of one demo: a failure wins, then an overload.
    fn and(self, other: Verdict) -> Verdict {
        use Verdict::*;
        match (self, other) {
            (Failed, _) | (_, Failed) => Failed,
            (Overloaded, _) | (_, Overloaded) => Overloaded,
            (Held, Held) => Held,
        }
    }
}

/// Runs the demo and says how it ended.
pub async fn run(options: DemoOptions) -> Result<Verdict, BoxError> {
    let flows = read_flows(&options.flow_files)?;
    // Found before anything starts, so a missing piece is said at once.
    let outage = match options.store_outage {
        Some(_) if options.contacts == 0 => {
            return Err("--store-outage-seconds needs a mixed run (--contacts N)".into())
        }
        Some(down) => Some((
            StoreOutage::from_env(options.stack.log_file.with_file_name("dynamodb-local.log"))?,
            down,
        )),
        None => None,
    };
    say_starting(&options.stack);
    let began = Instant::now();
    let stack = Stack::start(&options.stack).await?;
    eprintln!(
        "local stack up in {:.1} s: table {}, Lambda front {}",
        began.elapsed().as_secs_f64(),
        stack.store.table(),
        stack.front.url()
    );
    let sim = Simulator {
        store: stack.store.clone(),
        lambda: stack.lambda.clone(),
        flows,
        speech: options.speech,
        refusals: stack.refusals(),
    };
    let outage = outage.map(|(store, down)| (Arc::new(tokio::sync::Mutex::new(store)), down));
    let load = LoadWatch::start();
    let outcome = tokio::select! {
        result = play_all(&sim, &stack, &options, outage.clone(), &load) => result,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    let metrics = stack.metrics.clone();
    stack.stop().await;
    if let Some((store, _)) = outage {
        store.lock().await.shut_down().await;
    }
    if outcome.is_ok() {
        let html = options.stack.log_file.with_file_name("dashboard.html");
        write_dashboard(metrics.all(), html).await;
    }
    outcome
}

/// The dashboard of every document the consumer printed in the demo, beside
/// its logs. Only said, never judged: it does not change the verdict.
async fn write_dashboard(docs: Vec<serde_json::Value>, html: PathBuf) {
    // Chromium takes a few seconds to draw the picture: off the runtime's threads.
    let written = tokio::task::spawn_blocking(move || {
        dashboard::write(&docs, "Connect integration runs (local demo)", &html)
            .map_err(|err| err.to_string())
    })
    .await
    .unwrap_or_else(|err| Err(format!("the dashboard's writer stopped: {err}")));
    match written {
        Ok(written) => match written.png {
            Ok(png) => println!(
                "dashboard: {} (picture: {})",
                written.html.display(),
                png.display()
            ),
            Err(why) => println!("dashboard: {} (no picture: {why})", written.html.display()),
        },
        Err(why) => println!("dashboard: not written ({why})"),
    }
}

/// Reads and checks the flows, at most one of each kind.
fn read_flows(files: &[PathBuf]) -> Result<Flows, BoxError> {
    let mut flows = Flows::default();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|err| format!("reading the contact flow {}: {err}", file.display()))?;
        let flow = Flow::parse(&text).map_err(|err| format!("{}: {err}", file.display()))?;
        if let Err(why) = flows.add(flow) {
            return Err(format!("{}: {why}", file.display()).into());
        }
    }
    if flows.is_empty() {
        return Err("no contact flow to play".into());
    }
    Ok(flows)
}

/// Says what is starting, before the first build or spawn.
fn say_starting(options: &StackOptions) {
    match &options.host {
        Host::Watch => eprintln!(
            "starting the local stack (functions under cargo lambda watch; the first start builds them)…"
        ),
        Host::Processes(dir) => {
            let limits: Vec<String> = function_specs(options)
                .iter()
                .map(|spec| format!("{} {}", spec.name, spec.limit))
                .collect();
            eprintln!(
                "starting the local stack: the functions as pools of their binaries in {}, \
                 an instance started when an invocation finds none free (a cold start); \
                 concurrency limits: {}…",
                dir.display(),
                limits.join(", ")
            );
        }
    }
}

/// When the store was down, if it was.
type Window = Option<(Instant, Instant)>;

/// A store outage to inject: the process, and how long it stays down.
type Outage = Option<(Arc<tokio::sync::Mutex<StoreOutage>>, Duration)>;

async fn play_all(
    sim: &Simulator,
    stack: &Stack,
    options: &DemoOptions,
    outage: Outage,
    load: &LoadWatch,
) -> Result<Verdict, BoxError> {
    let chosen: Vec<Scenario> = simulator::scenarios()
        .into_iter()
        .filter(|s| {
            options
                .scenarios
                .iter()
                .any(|name| name == s.name || name == "all")
        })
        .collect();
    let mut verdict = Verdict::Held;
    let mut missed = Vec::new();
    if !chosen.is_empty() {
        (verdict, missed) = scenarios::play(sim, stack, &chosen, load).await?;
    }
    if options.contacts > 0 {
        verdict = verdict.and(mixed::run(sim, stack, options, outage, load).await?);
    }
    match stack.lambda_report() {
        Some(report) => summary::lambda(&report),
        None => println!(
            "\nUnder cargo lambda watch the demo does not see the functions' cold starts, limits or queues."
        ),
    }
    // Repeated last, where a log's tail shows them.
    for miss in &missed {
        println!("✗ single contact {miss} (its timeline is above)");
    }
    Ok(verdict)
}

/// The machine's load from the first contact's call to the last one's end.
fn played_load(load: &LoadWatch, played: &[Played]) -> Load {
    let from = played.iter().map(|p| p.began).min();
    let to = played.iter().map(Played::ended).max();
    match (from, to) {
        (Some(from), Some(to)) => load.between(from, to),
        _ => Load::of(&[], 1),
    }
}
