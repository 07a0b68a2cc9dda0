//! Start-up and memory of each function's release bootstrap, run by kit's
//! Lambda pools (the one Runtime API of the workspace) with the environment
//! Lambda gives it. Start-up is from the instance's start to its first
//! `GET /runtime/invocation/next`; it is then given one real invocation (on
//! DynamoDB Local, and the bench's stand-in for Lambda), and its peak RSS
//! (`VmHWM`) is read when it asks for the next.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use kit::lambda::{
    invoke_api::{Invocation, InvocationType, Reply},
    FunctionSpec, Functions, Launch, OutputSink,
};
use serde_json::{json, Value};
use shared::{ItemChange, RunStart};

use crate::lab::{self, Job, Lab, OURS_FUNCTION};
use kit::{connect_event, percentile};

/// The functions, by package name (their binaries' and their instances' name).
pub const FUNCTIONS: [&str; 4] = [
    "integration-start",
    "check-timeout",
    "integration-echo",
    "stream-consumer",
];

/// How long an instance has to answer its invocation, and then to ask for the next.
const COME_BACK: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Figure {
    pub function: &'static str,
    pub starts: usize,
    /// The instance's start to its first request for work, median.
    pub startup_median_ms: f64,
    pub startup_max_ms: f64,
    /// The one invocation: from the first request for work, which is handed
    /// the event, to the answer back at the caller, median.
    pub invocation_median_ms: f64,
    /// Peak RSS after one invocation, the largest of the starts.
    pub peak_rss_kb: u64,
    /// What the function answered (the last start), to show it did real work.
    pub answer: String,
}

/// What one start measured.
struct Start {
    startup: Duration,
    invocation: Duration,
    peak_rss_kb: u64,
    answer: String,
}

pub async fn measure(
    lab: &Lab,
    target: &Path,
    package: &'static str,
    starts: usize,
) -> Result<Figure, String> {
    let bin_dir = bin_dir(target, package)?;
    let (mut startups, mut invocations, mut rss, mut answer) =
        (Vec::new(), Vec::new(), 0, String::new());
    for _ in 0..starts.max(1) {
        let event = event_for(lab, package).await;
        let start = once(lab, &bin_dir, package, event).await?;
        startups.push(start.startup);
        invocations.push(start.invocation);
        rss = rss.max(start.peak_rss_kb);
        answer = start.answer;
    }
    startups.sort();
    invocations.sort();
    Ok(Figure {
        function: package,
        starts: startups.len(),
        startup_median_ms: lab::ms(percentile(&startups, 0.5)),
        startup_max_ms: lab::ms(*startups.last().expect("at least one start")),
        invocation_median_ms: lab::ms(percentile(&invocations, 0.5)),
        peak_rss_kb: rss,
        answer,
    })
}

/// `target/lambda` when cargo lambda built `<package>/bootstrap` there, else
/// `target/release`, where cargo builds `<package>`.
fn bin_dir(target: &Path, package: &str) -> Result<PathBuf, String> {
    let lambda = target.join("lambda");
    let release = target.join("release");
    if lambda.join(package).join("bootstrap").is_file() {
        Ok(lambda)
    } else if release.join(package).is_file() {
        Ok(release)
    } else {
        Err(format!(
            "no release bootstrap of {package}: build it first (scripts/bench does)"
        ))
    }
}

/// A real piece of work for each function, on a fresh contact.
async fn event_for(lab: &Lab, package: &str) -> Value {
    let store = lab.table.store();
    match package {
        "integration-start" => {
            let contact = lab.seed(5, OURS_FUNCTION, 20, "").await;
            // Through the lab's stand-in for Lambda, which finishes the run at once.
            drop(lab.expect(
                &contact,
                Job::OursFinisher {
                    store,
                    queued: Duration::ZERO,
                    work: Duration::ZERO,
                },
            ));
            connect_event(&contact)
        }
        "check-timeout" => {
            let contact = lab.seed(5, OURS_FUNCTION, 20, "").await;
            let run = store.start(&contact, run_start()).await.expect("opens");
            store
                .done(&contact, Some(&run.id), &[ItemChange::put("Result", "ok")])
                .await
                .expect("finishes");
            connect_event(&contact)
        }
        "integration-echo" => {
            let contact = lab
                .seed(5, OURS_FUNCTION, 20, "{\"Account\": \"A-1\"}")
                .await;
            let run = store.start(&contact, run_start()).await.expect("opens");
            json!({
                "ContactId": contact.as_str(),
                "RunId": run.id.as_str(),
                "Payload": "{\"Account\": \"A-1\"}",
                "OriginalRequest": connect_event(&contact).to_string(),
            })
        }
        _ => {
            let contact = kit::new_contact();
            let run = store.start(&contact, run_start()).await.expect("opens");
            store
                .done(&contact, Some(&run.id), &[])
                .await
                .expect("finishes");
            json!({"Records": [crate::consumer::synthetic::completion_record(&run, 1)]})
        }
    }
}

fn run_start() -> RunStart {
    RunStart {
        function_name: OURS_FUNCTION.into(),
        timeout: Duration::from_secs(20),
    }
}

/// One cold start of `package` in a pool of its own, one invocation, and its
/// memory once it asks for more; the pool is stopped either way.
async fn once(
    lab: &Lab,
    bin_dir: &Path,
    package: &'static str,
    event: Value,
) -> Result<Start, String> {
    let spec = FunctionSpec {
        name: package,
        limit: 1,
        timeout: COME_BACK,
        env: Vec::new(),
    };
    let functions =
        Functions::start(launch(lab, bin_dir)?, &[spec]).map_err(|err| err.to_string())?;
    let measured = invoke(&functions, package, event).await;
    functions.stop().await;
    measured
}

/// The pools' launch: Lambda's environment for the bench's table and stand-in
/// for Lambda; the instances' output is discarded.
fn launch(lab: &Lab, bin_dir: &Path) -> Result<Launch, String> {
    let env = [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", "local".to_owned()),
        ("STATE_TABLE", lab.table.name.clone()),
        ("ALLOWED_FUNCTIONS", "bench-integration*".to_owned()),
        ("AWS_ENDPOINT_URL_LAMBDA", lab.lambda_url()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    // Lambda's environment and the bench's endpoints only, nothing of the
    // bench's own: what a function reads at start-up is what it would read there.
    let endpoints = [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
    ]
    .into_iter()
    .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)));
    // Read to the end, not dropped: a runtime that writes to a closed pipe fails.
    let stdout: OutputSink = Arc::new(|mut out| {
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut out, &mut tokio::io::sink()).await;
        });
    });
    let log = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .map_err(|err| format!("opening /dev/null for the instances' logs: {err}"))?;
    Ok(Launch {
        bin_dir: bin_dir.to_owned(),
        env: env
            .map(|(name, value)| (name.to_owned(), value))
            .into_iter()
            .chain(endpoints)
            .collect(),
        inherit_env: false,
        log,
        stdout,
    })
}

/// Invokes `package` once (its instance starts for it) and measures the start.
async fn invoke(functions: &Functions, package: &str, event: Value) -> Result<Start, String> {
    let invoked = Instant::now();
    let reply = functions
        .invoke(Invocation {
            function: package.to_owned(),
            invocation_type: InvocationType::RequestResponse,
            payload: event.to_string().into(),
            caller: None,
        })
        .await;
    let answered = invoked.elapsed();
    let answer = answer(package, &reply)?;
    let report = functions.report().pop().ok_or("the pool has no report")?;
    if report.timed_out > 0 {
        return Err(format!(
            "{package} did not answer within {} s",
            COME_BACK.as_secs()
        ));
    }
    if report.crashed > 0 {
        return Err(format!("{package} ended: {answer}"));
    }
    let startup = *report.cold_starts.first().ok_or("no request for work")?;
    let pid = asks_for_more(functions, package).await?;
    Ok(Start {
        startup,
        invocation: answered.saturating_sub(startup),
        peak_rss_kb: peak_rss_kb(pid).ok_or("no VmHWM")?,
        answer,
    })
}

/// What the function answered: its response, or `error: ` and its error.
fn answer(package: &str, reply: &Reply) -> Result<String, String> {
    let body = String::from_utf8_lossy(&reply.body).into_owned();
    match (&reply.error_type, &reply.function_error) {
        (Some(error_type), _) => Err(format!("{package} was not invoked: {error_type} {body}")),
        (None, Some(_)) => Ok(format!("error: {body}")),
        (None, None) => Ok(body),
    }
}

/// Waits for the instance to ask for its next invocation; its process id.
async fn asks_for_more(functions: &Functions, package: &str) -> Result<u32, String> {
    let deadline = Instant::now() + COME_BACK;
    loop {
        let instances = functions.instances(package);
        if let Some(pid) = instances.iter().find(|i| i.waiting).and_then(|i| i.pid) {
            return Ok(pid);
        }
        if instances.is_empty() || Instant::now() >= deadline {
            return Err(format!(
                "{package} did not come back for more work within {} s",
                COME_BACK.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
