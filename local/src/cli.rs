//! The command line: declared here, parsed by clap (unknown options are refused,
//! help is generated); clients and printing. The work itself lives in the
//! library.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use kit::{
    aws::{create_table, sdk_config},
    stream::{
        event::scheduled_event,
        target::{ConsumerTarget, InProcess, LambdaFunction},
        Poller, PollerConfig, StartingPosition,
    },
};
use local_stack::{
    connect::{
        flow::{check_files, Speech},
        simulator,
    },
    demo::{self, DemoOptions, Verdict},
    replay,
    stack::{
        faults::{Refusals, StartDeaths},
        Host, StackOptions,
    },
};
use shared::{telemetry::error_chain, Store, SystemClock};
use stream_consumer::{Consumer, ConsumerConfig, MetricsSink, FILTER_PATTERN};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The demo's exit code when the machine could not carry the run: not a
/// verdict on the functions (1 is).
const OVERLOADED: u8 = 3;

/// The project's local tooling. Endpoints come from AWS_ENDPOINT_URL_DYNAMODB
/// and friends (DynamoDB Local, on the local stack).
#[derive(Debug, Parser)]
#[command(name = "local-stack")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a state table as the template does (keys, stream, PendingRuns index, TTL).
    CreateTable { name: String },
    /// Feeds saved stream events (a file, or a folder of them) to the consumer
    /// and says what it did with each record.
    Replay {
        path: PathBuf,
        #[command(flatten)]
        table: TableArg,
    },
    /// Polls the table's stream as Lambda's event source mapping does, and
    /// sends the schedule's event every minute.
    Poll {
        #[command(flatten)]
        table: TableArg,
        /// Deliver to this Lambda function (through AWS_ENDPOINT_URL_LAMBDA)
        /// instead of the consumer in this process.
        #[arg(long)]
        function: Option<String>,
        /// Where in the stream to begin.
        #[arg(long, value_enum, default_value_t = Position::TrimHorizon)]
        from: Position,
    },
    /// The main job: simulated Connect contacts through the real functions on
    /// the local stack, then the invariants checked.
    Demo(DemoArgs),
    /// Contact flows in Connect's flow language.
    #[command(subcommand)]
    Flow(FlowCommand),
}

#[derive(Debug, Subcommand)]
enum FlowCommand {
    /// Loads each flow as the contact simulator does and prints every refusal,
    /// one a line with its file and block; exits 0 only when all load.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct TableArg {
    /// The state table.
    #[arg(long, env = "STATE_TABLE")]
    table: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Position {
    TrimHorizon,
    Latest,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LambdaHost {
    /// The functions as pools of their built binaries, started, throttled and
    /// queued as Lambda does.
    Processes,
    /// Under `cargo lambda watch`, which rebuilds a function you edit but
    /// starts each instance through `cargo run`: for one function and a few
    /// contacts at a time.
    Watch,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// The scenarios to play first, on each flow that can play them: all, none,
    /// or a list of fast, slow, error, timeout, hang-up, six-integrations,
    /// start-refused, and on the original Rules Engine's echo (the polling flow
    /// only): legacy-fast, legacy-slow, legacy-error, legacy-timeout,
    /// legacy-hang-up.
    #[arg(long, default_value = "all", value_parser = scenario_list)]
    scenarios: ScenarioList,
    /// Contacts in the mixed run.
    #[arg(long, default_value_t = 50)]
    contacts: usize,
    /// Contacts in flight at once; the functions' concurrency limits follow from it.
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Seconds every prompt plays (default: its real length, its words at 2.5
    /// a second, SSML's breaks included; a stored prompt 3 s).
    #[arg(long, value_name = "S", value_parser = seconds)]
    message_seconds: Option<f64>,
    /// Seconds past a run's deadline before the sweep counts it abandoned.
    #[arg(long, default_value_t = 2.0, value_parser = seconds)]
    grace_seconds: f64,
    /// How often the consumer's schedule fires (at least 1 s).
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    schedule_seconds: f64,
    /// A contact flow to play, at most one of each kind (the polling flow, the
    /// native one, the asynchronous-start one); give it once per flow.
    #[arg(long, value_name = "FILE", default_values = [
        "infra/contact-flows/integration.json",
        "infra/contact-flows/integration-native.json",
        "infra/contact-flows/integration-async.json",
    ])]
    flow: Vec<PathBuf>,
    /// Stop DynamoDB Local (started with -dbPath) for S seconds once half the
    /// mixed run's contacts have begun, then restart it.
    #[arg(long, value_name = "S", value_parser = seconds)]
    store_outage_seconds: Option<f64>,
    /// The Lambda front refuses every invocation of one contact in N (0: none).
    #[arg(long, value_name = "N", default_value_t = 0)]
    refuse_every: usize,
    /// The first start of one contact in N dies after its invoke, as a crashed
    /// instance: Connect retries it (0: none).
    #[arg(long, value_name = "N", default_value_t = 0)]
    start_deaths_every: usize,
    /// At most N instances of each function (each is a process).
    #[arg(long, value_name = "N", default_value_t = 400)]
    max_instances: u32,
    /// The mixed run's contacts arrive evenly over S seconds.
    #[arg(long, value_name = "S", default_value_t = 0.0, value_parser = seconds)]
    ramp_seconds: f64,
    /// What runs the functions.
    #[arg(long, value_enum, default_value_t = LambdaHost::Processes)]
    lambda: LambdaHost,
    /// Where the pools' binaries are (default: beside this one, the debug
    /// build; target/lambda for cargo lambda's release build).
    #[arg(long, value_name = "DIR")]
    functions_dir: Option<PathBuf>,
}

/// The scenarios chosen, by name (empty for `none`).
#[derive(Debug, Clone)]
struct ScenarioList(Vec<String>);

fn scenario_list(text: &str) -> Result<ScenarioList, String> {
    if text == "none" {
        return Ok(ScenarioList(Vec::new()));
    }
    let known: Vec<&str> = simulator::scenarios().iter().map(|s| s.name).collect();
    let names: Vec<String> = text.split(',').map(|s| s.trim().to_owned()).collect();
    match names
        .iter()
        .find(|s| *s != "all" && !known.contains(&s.as_str()))
    {
        Some(unknown) => Err(format!(
            "unknown scenario {unknown:?}; known: all, none, {}",
            known.join(", ")
        )),
        None => Ok(ScenarioList(names)),
    }
}

/// A number of seconds: finite and not negative.
fn seconds(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("takes a number of seconds, not {text:?}"))
}

impl Cli {
    /// Runs the subcommand; the exit code says how a demo ended.
    pub async fn run(self) -> Result<ExitCode, Error> {
        match self.command {
            Command::CreateTable { name } => {
                create_table(&dynamodb().await, &name, &shared::table::STATE_TABLE).await?;
                println!("created {name} (keys, stream, PendingRuns index, TTL)");
            }
            Command::Replay { path, table } => {
                let consumer = consumer(&table.table).await?;
                let events = replay::load_events(&path)?;
                let out = &mut std::io::stdout().lock();
                let summary = replay::replay(&consumer, &events, out).await?;
                println!(
                    "{} record(s): {} measured, {} failed",
                    summary.records, summary.measured, summary.failed
                );
            }
            Command::Poll {
                table,
                function,
                from,
            } => poll(&table.table, function, from).await?,
            Command::Demo(args) => return demo(args).await,
            Command::Flow(FlowCommand::Check { files }) => {
                if !check_files(&files, &mut std::io::stdout().lock())? {
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

async fn demo(args: DemoArgs) -> Result<ExitCode, Error> {
    Ok(match demo::run(demo_options(args)?).await? {
        Verdict::Held => ExitCode::SUCCESS,
        Verdict::Failed => {
            eprintln!("local-stack: an expectation or invariant did not hold (see above)");
            ExitCode::FAILURE
        }
        // Said in full by the demo's summary.
        Verdict::Overloaded => ExitCode::from(OVERLOADED),
    })
}

async fn poll(table: &str, function: Option<String>, from: Position) -> Result<(), Error> {
    let config = PollerConfig {
        start: match from {
            Position::TrimHorizon => StartingPosition::TrimHorizon,
            Position::Latest => StartingPosition::Latest,
        },
        ..PollerConfig::default()
    };
    let sdk = sdk_config().await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    match function {
        Some(function_name) => {
            let client = aws_sdk_lambda::Client::new(&sdk);
            let target = LambdaFunction {
                client,
                function_name,
            };
            poll_forever(&dynamodb, streams, table, target, config).await
        }
        None => {
            let target = InProcess(Arc::new(consumer(table).await?));
            poll_forever(&dynamodb, streams, table, target, config).await
        }
    }
}

/// Polls every second and sends the schedule's event every minute, as the template does.
async fn poll_forever<T: ConsumerTarget + Clone>(
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: &str,
    target: T,
    config: PollerConfig,
) -> Result<(), Error> {
    let mut poller = Poller::for_table(
        dynamodb,
        streams,
        table,
        FILTER_PATTERN,
        target.clone(),
        config,
    )
    .await?;
    eprintln!("polling {}", poller.stream_arn());
    let mut last_schedule: Option<std::time::Instant> = None;
    loop {
        let pass = poller.poll_once().await?;
        if pass.read > 0 {
            eprintln!("{pass:?}");
        }
        if last_schedule.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            last_schedule = Some(std::time::Instant::now());
            match target
                .invoke(scheduled_event(chrono::Utc::now(), "us-east-1"))
                .await
            {
                Ok(answer) => eprintln!("schedule: {answer}"),
                Err(err) => eprintln!("schedule: {}", error_chain(&err)),
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn consumer(table: &str) -> Result<Consumer, Error> {
    let store = Store::new(dynamodb().await, table, Arc::new(SystemClock));
    Ok(Consumer::new(
        store,
        ConsumerConfig::from_env()?,
        Arc::new(StderrSink),
    ))
}

/// EMF lines on stderr: stdout is for the command's report.
struct StderrSink;

impl MetricsSink for StderrSink {
    fn write_line(&self, line: String) {
        eprintln!("{line}");
    }
}

async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

fn demo_options(args: DemoArgs) -> Result<DemoOptions, Error> {
    let host = match args.lambda {
        LambdaHost::Watch => Host::Watch,
        // The functions' binaries are built beside this one, unless told otherwise.
        LambdaHost::Processes => Host::Processes(match args.functions_dir {
            Some(dir) => dir,
            None => std::env::current_exe()?
                .parent()
                .ok_or("the demo's binary has no folder")?
                .to_owned(),
        }),
    };
    let in_flight = args.in_flight.max(1);
    Ok(DemoOptions {
        scenarios: args.scenarios.0,
        contacts: args.contacts,
        in_flight,
        ramp: Duration::from_secs_f64(args.ramp_seconds),
        speech: Speech {
            fixed: args.message_seconds.map(Duration::from_secs_f64),
            ..Speech::default()
        },
        flow_files: args.flow,
        stack: StackOptions {
            in_flight: in_flight as u32,
            max_instances: args.max_instances,
            schedule_every: Duration::from_secs_f64(args.schedule_seconds.max(1.0)),
            abandoned_grace: Duration::from_secs_f64(args.grace_seconds),
            log_file: ".local/demo/functions.log".into(),
            refusals: Refusals::every(args.refuse_every),
            start_deaths: StartDeaths::every(args.start_deaths_every),
            host,
        },
        store_outage: args.store_outage_seconds.map(Duration::from_secs_f64),
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn unknown_options_and_scenarios_are_refused() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["local-stack"], args].concat());
        assert!(parse(&["demo", "--contacts", "5"]).is_ok());
        assert!(parse(&["flow", "check", "a.json", "b.json"]).is_ok());
        for refused in [
            &["demo", "--contact", "5"][..],
            &["demo", "--scenarios", "fast,slowly"],
            &["demo", "--ramp-seconds", "-1"],
            &["poll", "--table", "t", "--from", "yesterday"],
            &["replay", "events", "--table", "t", "--repetitions", "3"],
            &["flow", "check"],
        ] {
            assert!(parse(refused).is_err(), "{refused:?} was accepted");
        }
    }
}
