//! Start-up and memory of each function's release bootstrap: spawned with the
//! environment Lambda gives it, against a tiny Lambda Runtime API on 127.0.0.1.
//! Start-up is from the spawn to its first `GET /runtime/invocation/next`; it is
//! then given one real invocation (on DynamoDB Local, and the bench's stand-in
//! for Lambda), and its peak RSS (`VmHWM`) is read when it asks for the next.

use std::{
    convert::Infallible,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use shared::{ItemChange, RunStart};
use tokio::{net::TcpListener, sync::mpsc};

use crate::lab::{self, connect_event, Job, Lab, OURS_FUNCTION};

/// The functions, by package name, and the name each has on Lambda.
pub const FUNCTIONS: [(&str, &str); 4] = [
    ("integration-start", "bench-rules-connectintegrationstart"),
    ("check-timeout", "bench-rules-connectchecktimeout"),
    ("integration-echo", "bench-rules-integrationEcho"),
    ("stream-consumer", "bench-rules-connectintegrationconsumer"),
];

#[derive(Debug, Clone)]
pub struct Figure {
    pub function: &'static str,
    pub starts: usize,
    /// Spawn to the first request for work, median.
    pub startup_median_ms: f64,
    pub startup_max_ms: f64,
    /// The one invocation: event handed out to response received, median.
    pub invocation_median_ms: f64,
    /// Peak RSS after one invocation, the largest of the starts.
    pub peak_rss_kb: u64,
    /// What the function answered (the last start), to show it did real work.
    pub answer: String,
}

/// What the runtime API saw of one start.
#[derive(Default)]
struct Seen {
    first_next: Option<Instant>,
    handed_out: Option<Instant>,
    response: Option<(Instant, String)>,
}

pub async fn measure(
    lab: &Lab,
    bootstraps: &Path,
    package: &'static str,
    name: &'static str,
    starts: usize,
) -> Result<Figure, String> {
    let binary = bootstrap(bootstraps, package)?;
    let (mut startups, mut invocations, mut rss, mut answer) =
        (Vec::new(), Vec::new(), 0, String::new());
    for _ in 0..starts.max(1) {
        let event = event_for(lab, package).await;
        let (startup, invocation, peak, answered) = once(lab, &binary, name, event).await?;
        startups.push(startup);
        invocations.push(invocation);
        rss = rss.max(peak);
        answer = answered;
    }
    startups.sort();
    invocations.sort();
    Ok(Figure {
        function: package,
        starts: startups.len(),
        startup_median_ms: lab::ms(lab::percentile(&startups, 0.5)),
        startup_max_ms: lab::ms(*startups.last().expect("at least one start")),
        invocation_median_ms: lab::ms(lab::percentile(&invocations, 0.5)),
        peak_rss_kb: rss,
        answer,
    })
}

/// `target/lambda/<package>/bootstrap` (cargo lambda), else `target/release/<package>`.
fn bootstrap(dir: &Path, package: &str) -> Result<PathBuf, String> {
    let candidates = [
        dir.join("lambda").join(package).join("bootstrap"),
        dir.join("release").join(package),
    ];
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or_else(|| {
            format!("no release bootstrap of {package}: build it first (scripts/bench does)")
        })
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

async fn once(
    lab: &Lab,
    binary: &Path,
    name: &str,
    event: Value,
) -> Result<(Duration, Duration, u64, String), String> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (idle_tx, mut idle) = mpsc::channel::<()>(1);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(serve(
        listener,
        seen.clone(),
        idle_tx,
        event,
        name.to_owned(),
    ));

    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_SESSION_TOKEN", "local")
        .env("STATE_TABLE", &lab.table.name)
        .env("ALLOWED_FUNCTIONS", "bench-integration*")
        .env("AWS_ENDPOINT_URL_LAMBDA", lab.lambda_url())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for variable in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
    ] {
        if let Some(value) = std::env::var_os(variable) {
            command.env(variable, value);
        }
    }
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id().ok_or("the child has no pid")?;
    let idle_again = tokio::time::timeout(Duration::from_secs(15), idle.recv()).await;
    let peak = peak_rss_kb(pid);
    let _ = child.kill().await;
    server.abort();
    if idle_again.is_err() {
        return Err(format!(
            "{name} did not come back for more work within 15 s"
        ));
    }
    let seen = seen.lock().expect("not poisoned");
    let first = seen.first_next.ok_or("no request for work")?;
    let (responded, answer) = seen.response.clone().ok_or("no response")?;
    let handed = seen.handed_out.unwrap_or(first);
    Ok((
        first.saturating_duration_since(spawned),
        responded.saturating_duration_since(handed),
        peak.ok_or("no VmHWM")?,
        answer,
    ))
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn serve(
    listener: TcpListener,
    seen: Arc<Mutex<Seen>>,
    idle: mpsc::Sender<()>,
    event: Value,
    name: String,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (seen, idle, event, name) = (seen.clone(), idle.clone(), event.clone(), name.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let (seen, idle, event, name) =
                    (seen.clone(), idle.clone(), event.clone(), name.clone());
                async move { Ok::<_, Infallible>(route(request, &seen, &idle, &event, &name).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(
    request: Request<hyper::body::Incoming>,
    seen: &Mutex<Seen>,
    idle: &mpsc::Sender<()>,
    event: &Value,
    name: &str,
) -> Response<Full<Bytes>> {
    let now = Instant::now();
    let path = request.uri().path().to_owned();
    if path.ends_with("/runtime/invocation/next") {
        let first = {
            let mut seen = seen.lock().expect("not poisoned");
            let first = seen.first_next.is_none();
            if first {
                seen.first_next = Some(now);
                seen.handed_out = Some(Instant::now());
            }
            first
        };
        if !first {
            // Asking for more: the invocation is over. Hold the request, as
            // Lambda does while it has no work.
            let _ = idle.send(()).await;
            std::future::pending::<()>().await;
        }
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        return Response::builder()
            .status(200)
            .header("Lambda-Runtime-Aws-Request-Id", "bench-request-1")
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .expect("a valid response");
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path.contains("/runtime/invocation/") || path.contains("/runtime/init/error") {
        let text = String::from_utf8_lossy(&body).into_owned();
        let outcome = if path.ends_with("/response") {
            text
        } else {
            format!("error: {text}")
        };
        seen.lock().expect("not poisoned").response = Some((now, outcome));
    }
    Response::builder()
        .status(202)
        .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")))
        .expect("a valid response")
}
