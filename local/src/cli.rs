//! The subcommands: argument reading, clients, and printing. The work itself
//! lives in the library.

use std::{path::Path, process::ExitCode, sync::Arc, time::Duration};

use local_stack::demo::Verdict;

use local_stack::sdk_config;
use local_stack::{
    bench,
    poller::{Poller, PollerConfig, StartingPosition},
    replay,
    stream_event::scheduled_event,
    target::{ConsumerTarget, InProcess, LambdaFunction},
};
use shared::{telemetry::error_chain, Store, SystemClock};
use stream_consumer::{Consumer, ConsumerConfig, MetricsSink, FILTER_PATTERN};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The demo's exit code when the machine could not carry the run: not a
/// verdict on the functions (1 is).
const OVERLOADED: u8 = 3;
/// `--name value` pairs, in the order given.
type Options = Vec<(String, String)>;

const USAGE: &str = "usage:
  local-stack create-table NAME
  local-stack replay <file or folder> [--table NAME]
  local-stack poll [--table NAME] [--function NAME] [--from trim-horizon|latest]
  local-stack bench-consumer [--repetitions N]
  local-stack demo [--scenarios all|none|fast,slow,error,timeout,hang-up] [--contacts N] [--in-flight N]
                   [--message-seconds S] [--grace-seconds S] [--schedule-seconds S] [--flow FILE]
                   [--store-outage-seconds S] [--refuse-every N] [--max-instances N]
                   [--ramp-seconds S] [--lambda processes|watch]
                   [--functions-dir DIR]
    --ramp-seconds S: the mixed run's contacts arrive evenly over S seconds
    --lambda processes|watch: the functions as pools of their built binaries, started,
                              throttled and queued as Lambda does (default), or under
                              `cargo lambda watch`, which rebuilds a function you edit
                              but starts each instance through `cargo run`: for one
                              function and a few contacts at a time
    --functions-dir DIR: where the pools' binaries are (default: beside this one, the
                         debug build; target/lambda for cargo lambda's release build)
    --max-instances N: at most N instances of each function (default 400; each is a process)
    --store-outage-seconds S: stop DynamoDB Local (started with -dbPath) for S seconds
                              once half the mixed run's contacts have begun, then restart it
    --refuse-every N: the Lambda front refuses every invocation of one contact in N
The table defaults to $STATE_TABLE; endpoints come from AWS_ENDPOINT_URL_DYNAMODB and friends.";

/// Runs a subcommand; the exit code says how a demo ended.
pub async fn run(args: &[String]) -> Result<ExitCode, Error> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    if rest.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let (positional, options) = split(rest)?;
    match command.as_str() {
        "replay" => {
            let [path] = positional.as_slice() else {
                return Err(USAGE.into());
            };
            let consumer = consumer(&options).await?;
            let events = replay::load_events(Path::new(path))?;
            let summary = replay::replay(&consumer, &events, &mut std::io::stdout().lock()).await?;
            println!(
                "{} record(s): {} measured, {} failed",
                summary.records, summary.measured, summary.failed
            );
            Ok(ExitCode::SUCCESS)
        }
        "poll" => poll(&options).await.map(|()| ExitCode::SUCCESS),
        "create-table" => {
            let [name] = positional.as_slice() else {
                return Err(USAGE.into());
            };
            Store::create_table(&dynamodb().await, name, &shared::table::STATE_TABLE).await?;
            println!("created {name} (keys, stream, PendingRuns index, TTL)");
            Ok(ExitCode::SUCCESS)
        }
        "bench-consumer" => {
            let repetitions = option(&options, "--repetitions")
                .map(str::parse)
                .transpose()?
                .unwrap_or(3);
            let figures = bench::run(dynamodb().await, repetitions).await?;
            println!("consumer throughput against DynamoDB Local, median of {repetitions}:");
            for figure in figures {
                println!(
                    "  {:<48} {:>8.0} records/s  ({} records in {} ms)",
                    figure.label,
                    figure.records_per_second,
                    figure.records,
                    figure.median.as_millis()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        "demo" => Ok(
            match local_stack::demo::run(demo_options(&options)?).await? {
                Verdict::Held => ExitCode::SUCCESS,
                Verdict::Failed => {
                    eprintln!("local-stack: an expectation or invariant did not hold (see above)");
                    ExitCode::FAILURE
                }
                // Said in full by the demo's summary.
                Verdict::Overloaded => ExitCode::from(OVERLOADED),
            },
        ),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(USAGE.into()),
    }
}

async fn poll(options: &[(String, String)]) -> Result<(), Error> {
    let table = table(options)?;
    let start = match option(options, "--from") {
        None | Some("trim-horizon") => StartingPosition::TrimHorizon,
        Some("latest") => StartingPosition::Latest,
        Some(_) => return Err(USAGE.into()),
    };
    let config = PollerConfig {
        start,
        ..PollerConfig::default()
    };
    let sdk = sdk_config().await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    match option(options, "--function") {
        Some(name) => {
            let target = LambdaFunction {
                client: aws_sdk_lambda::Client::new(&sdk),
                function_name: name.into(),
            };
            poll_forever(&dynamodb, streams, &table, target, config).await
        }
        None => {
            let target = InProcess(Arc::new(consumer(options).await?));
            poll_forever(&dynamodb, streams, &table, target, config).await
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

async fn consumer(options: &[(String, String)]) -> Result<Consumer, Error> {
    let store = Store::new(dynamodb().await, table(options)?, Arc::new(SystemClock));
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

fn table(options: &[(String, String)]) -> Result<String, Error> {
    option(options, "--table")
        .map(str::to_owned)
        .or_else(|| std::env::var("STATE_TABLE").ok())
        .ok_or_else(|| "no table: pass --table NAME or set STATE_TABLE".into())
}

async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

fn option<'a>(options: &'a [(String, String)], name: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Positional arguments, and `--name value` pairs.
fn split(args: &[String]) -> Result<(Vec<String>, Options), Error> {
    let (mut positional, mut options) = (Vec::new(), Vec::new());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg.starts_with("--") {
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            options.push((arg.clone(), value.clone()));
        } else {
            positional.push(arg.clone());
        }
    }
    Ok((positional, options))
}

fn demo_options(options: &[(String, String)]) -> Result<local_stack::demo::DemoOptions, Error> {
    const KNOWN: [&str; 13] = [
        "--functions-dir",
        "--lambda",
        "--ramp-seconds",
        "--max-instances",
        "--store-outage-seconds",
        "--refuse-every",
        "--scenarios",
        "--contacts",
        "--in-flight",
        "--message-seconds",
        "--grace-seconds",
        "--schedule-seconds",
        "--flow",
    ];
    if let Some((name, _)) = options
        .iter()
        .find(|(name, _)| !KNOWN.contains(&name.as_str()))
    {
        return Err(format!("unknown option {name}\n{USAGE}").into());
    }
    let number = |name: &str, default: f64| -> Result<f64, Error> {
        match option(options, name) {
            None => Ok(default),
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{name} takes a number, not {text:?}").into()),
        }
    };
    let scenarios: Vec<String> = match option(options, "--scenarios").unwrap_or("all") {
        "none" => Vec::new(),
        list => list.split(',').map(|s| s.trim().to_owned()).collect(),
    };
    let known: Vec<&str> = local_stack::simulator::scenarios()
        .iter()
        .map(|s| s.name)
        .collect();
    if let Some(unknown) = scenarios
        .iter()
        .find(|s| *s != "all" && !known.contains(&s.as_str()))
    {
        return Err(format!(
            "unknown scenario {unknown:?}; known: all, none, {}",
            known.join(", ")
        )
        .into());
    }
    let in_flight = number("--in-flight", 16.0)? as usize;
    let refuse_every = number("--refuse-every", 0.0)? as usize;
    let host = match option(options, "--lambda").unwrap_or("processes") {
        "watch" => local_stack::stack::Host::Watch,
        // The functions' binaries are built beside this one, unless told otherwise.
        "processes" => {
            local_stack::stack::Host::Processes(match option(options, "--functions-dir") {
                Some(dir) => dir.into(),
                None => std::env::current_exe()?
                    .parent()
                    .ok_or("the demo's binary has no folder")?
                    .to_owned(),
            })
        }
        other => return Err(format!("--lambda takes processes or watch, not {other:?}").into()),
    };
    let seconds = |s: f64| Duration::from_secs_f64(s);
    Ok(local_stack::demo::DemoOptions {
        scenarios,
        contacts: number("--contacts", 50.0)? as usize,
        in_flight: in_flight.max(1),
        ramp: seconds(number("--ramp-seconds", 0.0)?),
        message_time: seconds(number("--message-seconds", 1.5)?),
        flow_file: option(options, "--flow")
            .unwrap_or("infra/contact-flows/integration.json")
            .into(),
        stack: local_stack::stack::StackOptions {
            in_flight: in_flight.max(1) as u32,
            max_instances: number("--max-instances", 400.0)? as u32,
            schedule_every: seconds(number("--schedule-seconds", 5.0)?.max(1.0)),
            abandoned_grace: seconds(number("--grace-seconds", 2.0)?),
            log_file: ".local/demo/functions.log".into(),
            refusals: local_stack::faults::Refusals::every(refuse_every),
            host,
        },
        store_outage: option(options, "--store-outage-seconds")
            .map(|_| number("--store-outage-seconds", 0.0).map(seconds))
            .transpose()?,
    })
}
