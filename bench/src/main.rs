//! `bench`: measures, on the local stack (DynamoDB Local, a stand-in for Lambda
//! on 127.0.0.1), ours beside the naive poller, and writes the report.
//!
//! Run it through `scripts/bench`, which starts DynamoDB Local and builds the
//! release binaries first; `bench --help` lists the options.

mod bill;
mod caller;
mod capacity;
mod consumer;
mod lab;
mod latency;
mod meter;
mod naive;
mod progress;
mod report;
mod startup;
mod store;

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, ValueEnum};
use local_stack::stack::faults::StoreOutage;
use progress::Progress;
use report::{Machine, Results};
use store::restart_store;
use tokio::signal::unix::SignalKind;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Measures, on the local stack, ours beside a naive poller that reproduces the
/// original Rules Engine's access pattern, and writes `<out>/<date>.md` and
/// `.json`.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Options {
    /// Detection-latency runs per side, for each integration length.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = at_least_one)]
    runs: usize,
    /// Contacts per capacity case, and repetitions of each consumer batch.
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = at_least_one)]
    repetitions: usize,
    /// Cold starts of each function.
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = at_least_one)]
    starts: usize,
    /// Contacts per flow and integration length of the caller wait.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = at_least_one)]
    callers: usize,
    /// What to measure, a comma-separated list.
    #[arg(
        long,
        value_name = "SECTION",
        value_enum,
        value_delimiter = ',',
        default_value = "latency,capacity,wait,startup,caller,consumer"
    )]
    sections: Vec<Section>,
    /// Integration lengths of the detection-latency rows, in milliseconds, a
    /// comma-separated list.
    #[arg(
        long,
        value_name = "MS",
        value_delimiter = ',',
        default_value = "0,50,300,1500"
    )]
    integrations: Vec<u64>,
    /// Cargo's target directory, where the functions' release bootstraps are.
    #[arg(long, value_name = "DIR", default_value = "target")]
    target: PathBuf,
    /// Where the report is written.
    #[arg(long, value_name = "DIR", default_value = "bench/results")]
    out: PathBuf,
}

/// The report's sections, in the order they are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    /// Detection latency, per integration length.
    Latency,
    /// Read and write capacity per contact.
    Capacity,
    /// Requests per check-timeout wait.
    Wait,
    /// Start-up and memory of each function.
    Startup,
    /// How long a caller waits once the integration is done, through each
    /// shipped flow on the local stack (the dashboard draws its metrics).
    Caller,
    /// The stream consumer's throughput.
    Consumer,
}

impl Section {
    /// Measured on a fresh DynamoDB Local when another section ran before.
    fn wants_a_fresh_store(self) -> bool {
        matches!(
            self,
            Section::Capacity | Section::Caller | Section::Consumer
        )
    }

    /// Warmed up after the restart: only the caller's wait, whose first
    /// contacts meet start's 1 s store timeouts on a cold JVM. Warmed up
    /// before the consumer's section, DynamoDB Local stayed slow through it
    /// (one JVM thread busy for 13 minutes) and the consumer's ratio fell
    /// from about 7× to 2×.
    fn wants_a_warm_up(self) -> bool {
        self == Section::Caller
    }
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(err) => Err(err.to_string()),
    }
}

fn say(text: &str) {
    eprintln!("[bench] {text}");
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    // Interrupted, the run is dropped, and with it a DynamoDB Local this
    // process restarted (its child, killed on drop); `scripts/bench` stops the
    // one it started.
    let mut terminate = match tokio::signal::unix::signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(err) => {
            say(&format!("cannot watch for SIGTERM: {err}"));
            return ExitCode::FAILURE;
        }
    };
    let outcome = tokio::select! {
        outcome = run(&options) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted: no report written".into()),
        _ = terminate.recv() => Err("terminated: no report written".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            say(&shared::telemetry::error_chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<(), Error> {
    let wait = shared::waiting::WaitConfig::from_env()
        .map_err(|err| format!("ours' wait settings: {err}"))?;
    let mut results = Results {
        machine: Machine::probe(),
        settings: lab::describe(&wait),
        ..Results::default()
    };
    let mut lab = Arc::new(lab::Lab::new().await);
    // In the declared order. After thousands of contacts DynamoDB Local
    // answers every request more slowly, for the rest of its life, their
    // tables deleted or not: the latency rows measure request times, and so do
    // the capacity section's durations (the cost's), the caller's wait and the
    // consumer's completions. So those sections get a fresh DynamoDB Local
    // when another ran before them: the same one restarted, in memory, empty,
    // and a lab on it.
    let mut fresh: Option<StoreOutage> = None;
    let mut outcome = Ok(());
    for section in Section::value_variants() {
        if !options.sections.contains(section) {
            continue;
        }
        if section.wants_a_fresh_store() && !results.is_empty() {
            match restart_store(&mut fresh, section.wants_a_warm_up()).await {
                Ok(true) => lab = Arc::new(lab::Lab::new().await),
                Ok(false) => {}
                Err(err) => {
                    outcome = Err(err);
                    break;
                }
            }
        }
        outcome = measure(*section, options, &lab, &mut results).await;
        if outcome.is_err() {
            break;
        }
    }
    if let Some(store) = &mut fresh {
        store.shut_down().await;
    }
    outcome?;
    if results.is_empty() {
        return Err(format!(
            "nothing was measured: no report written to {}",
            options.out.display()
        )
        .into());
    }
    results.machine.load_after = report::load_average();
    write(&mut results, options)
}

async fn measure(
    section: Section,
    options: &Options,
    lab: &Arc<lab::Lab>,
    results: &mut Results,
) -> Result<(), Error> {
    match section {
        Section::Latency => {
            for &work in &options.integrations {
                let progress = Progress::new(format!(
                    "detection latency, {work} ms integration, contacts started"
                ));
                let row = latency::measure(lab, work, options.runs, &progress).await;
                say(&format!(
                    "{work} ms: ours median {:.1} ms, naive {:.1} ms",
                    row.ours.median_ms, row.naive.median_ms
                ));
                results.latency.push(row);
            }
        }
        Section::Capacity => results.capacity = capacity_cases(lab, options.repetitions).await,
        Section::Wait => {
            say("one check-timeout wait, each side");
            results.wait = Some(capacity::wait(lab, 20).await);
        }
        Section::Startup => {
            let progress = Progress::new("start-up and memory, functions");
            let total = startup::FUNCTIONS.len();
            for (i, package) in startup::FUNCTIONS.into_iter().enumerate() {
                progress.tick(i, total);
                let figure =
                    startup::measure(lab, &options.target, package, options.starts).await?;
                results.startup.push(figure);
            }
            progress.tick(total, total);
        }
        Section::Caller => {
            let functions = options.target.join("release");
            let measured = caller::run(&functions, options.callers).await?;
            for row in &measured.rows {
                say(&format!(
                    "{} flow, {} s integration: caller waits median {:.0} ms, p95 {:.0} ms",
                    row.kind.as_str(),
                    row.integration_s,
                    row.median_ms,
                    row.p95_ms
                ));
            }
            results.caller = measured.rows;
            results.metrics = measured.metrics;
        }
        Section::Consumer => {
            say("stream consumer throughput");
            results.consumer = consumer::run(lab.table.client.clone(), options.repetitions).await?;
        }
    }
    Ok(())
}

/// Every capacity case: fast and slow integrations, on contacts of 5, 20 and
/// 100 state keys, and one that times out, on 20 keys (the cost's mix).
async fn capacity_cases(lab: &Arc<lab::Lab>, repetitions: usize) -> Vec<capacity::Row> {
    use capacity::Speed;
    let mut cases: Vec<_> = [Speed::Fast, Speed::Slow]
        .into_iter()
        .flat_map(|speed| [5, 20, 100].map(move |keys| (keys, speed)))
        .collect();
    cases.push((bill::KEYS, Speed::TimedOut));
    let progress = Progress::new("capacity per contact, cases");
    let mut rows = Vec::new();
    for (i, (keys, speed)) in cases.iter().enumerate() {
        progress.tick(i, cases.len());
        rows.push(capacity::measure(lab, *keys, *speed, repetitions).await);
    }
    progress.tick(cases.len(), cases.len());
    rows
}

/// Writes the dashboard of the run's metrics, prints the Markdown and writes
/// the day's `.md` and `.json` to `--out`.
fn write(results: &mut Results, options: &Options) -> Result<(), Error> {
    std::fs::create_dir_all(&options.out)?;
    let stem = chrono::Utc::now().format("%Y-%m-%d").to_string();
    if !results.metrics.is_empty() {
        let page = options.out.join(format!("{stem}-dashboard.html"));
        let title = format!("Benchmark {stem}: the caller-wait section's runs");
        let written = local_stack::dashboard::write(&results.metrics, &title, &page)
            .map_err(|err| format!("the dashboard {}: {err}", page.display()))?;
        let name = |path: &std::path::Path| {
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        };
        results.dashboard = Some(match &written.png {
            Ok(png) => format!("`{}`, its picture `{}`", name(&written.html), name(png)),
            Err(why) => format!("`{}` (no picture: {why})", name(&written.html)),
        });
        say(&format!(
            "dashboard: {} ({})",
            written.html.display(),
            match &written.png {
                Ok(png) => format!("picture: {}", png.display()),
                Err(why) => format!("no picture: {why}"),
            }
        ));
    }
    let markdown = results.markdown();
    println!("{markdown}");
    let md_path = options.out.join(format!("{stem}.md"));
    let json_path = options.out.join(format!("{stem}.json"));
    std::fs::write(&md_path, &markdown)?;
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&results.json())? + "\n",
    )?;
    say(&format!(
        "wrote {} and {}",
        md_path.display(),
        json_path.display()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Options, Section};

    #[test]
    fn the_defaults_measure_every_section() {
        let options = Options::try_parse_from(["bench"]).expect("no options are needed");
        assert_eq!(options.runs, 500);
        assert_eq!(options.repetitions, 7);
        assert_eq!(options.starts, 7);
        assert_eq!(options.sections.len(), 6);
        assert_eq!(options.callers, 20);
        assert_eq!(options.integrations, [0, 50, 300, 1_500]);
        assert_eq!(options.target.to_str(), Some("target"));
        assert_eq!(options.out.to_str(), Some("bench/results"));
    }

    #[test]
    fn sections_and_integrations_are_comma_separated_lists() {
        let options = Options::try_parse_from([
            "bench",
            "--sections",
            "startup,wait",
            "--integrations",
            "0,300",
        ])
        .expect("valid options");
        assert_eq!(options.sections, [Section::Startup, Section::Wait]);
        assert_eq!(options.integrations, [0, 300]);
    }

    #[test]
    fn an_unknown_section_is_refused_with_the_known_ones() {
        let err = Options::try_parse_from(["bench", "--sections", "latency,speed"])
            .expect_err("no section is called speed");
        let message = err.to_string();
        for known in [
            "latency", "capacity", "wait", "startup", "caller", "consumer",
        ] {
            assert!(message.contains(known), "{message}");
        }
    }

    #[test]
    fn unknown_options_and_zero_counts_are_refused() {
        assert!(Options::try_parse_from(["bench", "--run", "5"]).is_err());
        assert!(Options::try_parse_from(["bench", "--starts", "0"]).is_err());
    }
}
