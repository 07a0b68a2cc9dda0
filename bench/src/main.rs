//! `bench`: measures, on the local stack (DynamoDB Local, a stand-in for Lambda
//! on 127.0.0.1), ours beside the naive poller, and writes the report.
//!
//! ```text
//! bench [--runs N] [--repetitions N] [--starts N] [--sections LIST]
//!       [--integrations MS,...] [--target DIR] [--out DIR]
//! ```
//!
//! Run it through `scripts/bench`, which starts DynamoDB Local and builds the
//! release binaries first.

mod capacity;
mod consumer;
mod lab;
mod latency;
mod meter;
mod naive;
mod progress;
mod report;
mod startup;

use std::{path::PathBuf, sync::Arc};

use progress::Progress;
use report::{Machine, Results};

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: bench [--runs N (500)] [--repetitions N (3)] [--starts N (7)]
             [--sections latency,capacity,wait,startup,consumer (all)]
             [--integrations MS,... (0,50,300,1500)] [--target DIR (target)] [--out DIR (bench/results)]";

struct Options {
    runs: usize,
    repetitions: usize,
    starts: usize,
    sections: Vec<String>,
    integrations: Vec<u64>,
    target: PathBuf,
    out: PathBuf,
}

fn options() -> Result<Options, Error> {
    let mut options = Options {
        runs: 500,
        repetitions: 3,
        starts: 7,
        sections: ["latency", "capacity", "wait", "startup", "consumer"]
            .map(String::from)
            .to_vec(),
        integrations: vec![0, 50, 300, 1_500],
        target: "target".into(),
        out: "bench/results".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
        match arg.as_str() {
            "--runs" => options.runs = value.parse()?,
            "--repetitions" => options.repetitions = value.parse()?,
            "--starts" => options.starts = value.parse()?,
            "--sections" => options.sections = value.split(',').map(str::to_owned).collect(),
            "--integrations" => {
                options.integrations = value.split(',').map(str::parse).collect::<Result<_, _>>()?
            }
            "--target" => options.target = value.into(),
            "--out" => options.out = value.into(),
            _ => return Err(format!("unknown option {arg}\n{USAGE}").into()),
        }
    }
    Ok(options)
}

fn say(text: &str) {
    eprintln!("[bench] {text}");
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let options = options()?;
    let wait = shared::waiting::WaitConfig::from_env()
        .map_err(|err| format!("ours' wait settings: {err}"))?;
    let wants = |s: &str| options.sections.iter().any(|x| x == s);
    let mut results = Results {
        machine: Machine::probe(),
        settings: lab::describe(&wait),
        ..Results::default()
    };
    let lab = Arc::new(lab::Lab::new().await);

    if wants("latency") {
        for &work in &options.integrations {
            let progress = Progress::new(format!(
                "detection latency, {work} ms integration, contacts started"
            ));
            let row = latency::measure(&lab, work, options.runs, &progress).await;
            say(&format!(
                "{work} ms: ours median {:.1} ms, naive {:.1} ms",
                row.ours.median_ms, row.naive.median_ms
            ));
            results.latency.push(row);
        }
    }
    if wants("capacity") {
        let cases: Vec<_> = [capacity::Speed::Fast, capacity::Speed::Slow]
            .into_iter()
            .flat_map(|speed| [5, 20, 100].map(move |keys| (keys, speed)))
            .collect();
        let progress = Progress::new("capacity per contact, cases");
        for (i, (keys, speed)) in cases.iter().enumerate() {
            progress.tick(i, cases.len());
            results
                .capacity
                .push(capacity::measure(&lab, *keys, *speed, options.repetitions).await);
        }
        progress.tick(cases.len(), cases.len());
    }
    if wants("wait") {
        say("one check-timeout wait, each side");
        results.wait = Some(capacity::wait(&lab, 20).await);
    }
    if wants("startup") {
        let progress = Progress::new("start-up and memory, functions");
        for (i, (package, name)) in startup::FUNCTIONS.iter().enumerate() {
            progress.tick(i, startup::FUNCTIONS.len());
            let figure =
                startup::measure(&lab, &options.target, package, name, options.starts).await?;
            results.startup.push(figure);
        }
        progress.tick(startup::FUNCTIONS.len(), startup::FUNCTIONS.len());
    }

    // Last: after the consumer's thousands of completions DynamoDB Local answers
    // every request more slowly (it did for the rest of a run, its table deleted
    // or not: ours' detection latency at 0 ms went from 15 to 27 ms), and the
    // latency rows above measure request times. The consumer's own figure for
    // unrelated records makes no request.
    if wants("consumer") {
        say("stream consumer throughput");
        results.consumer =
            crate::consumer::run(lab.table.client.clone(), options.repetitions).await?;
    }

    results.machine.load_after = report::load_average();
    let markdown = results.markdown();
    println!("{markdown}");
    std::fs::create_dir_all(&options.out)?;
    let stem = chrono::Utc::now().format("%Y-%m-%d").to_string();
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
