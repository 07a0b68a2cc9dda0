//! A small Lambda of the local stack's own, for runs larger than `cargo lambda
//! watch` can carry (it starts every instance through `cargo run`, and a few
//! hundred of those at once wait on one another's build lock): each function
//! is a fixed pool of processes of its built binary, each speaking the Lambda
//! Runtime API to a server here, and invocations reach the pools through the
//! Invoke API ([`invoke_api`]). An invocation waits for a free instance, as one
//! does on Lambda at its concurrency limit.
//!
//! [`invoke_api`]: crate::invoke_api

use std::{
    collections::HashMap,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex as StdMutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request, Response};
use tokio::{
    net::TcpListener,
    process::{Child, Command},
    sync::{mpsc, oneshot, Mutex},
};

use crate::invoke_api::{Endpoint, Handler, Invocation, Reply};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One function to run: its binary and how many instances.
pub struct FunctionSpec {
    pub name: &'static str,
    pub instances: u32,
    /// Lambda's timeout for one invocation.
    pub timeout: Duration,
}

struct Job {
    payload: Bytes,
    reply: oneshot::Sender<Reply>,
}

/// A function's queue of invocations and the instances taking from it.
struct Pool {
    name: String,
    timeout: Duration,
    queue: mpsc::Sender<Job>,
    next: Mutex<mpsc::Receiver<Job>>,
    pending: StdMutex<HashMap<String, oneshot::Sender<Reply>>>,
}

/// The running functions, served on one Invoke API endpoint.
pub struct Functions {
    pub endpoint: Endpoint,
    children: Vec<Child>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Functions {
    /// Starts every function's instances from `bin_dir`, served on the Invoke API
    /// at 127.0.0.1:`invoke_port`, with `env` and Lambda's
    /// own variables; their standard output goes to `stdout` (one reader per
    /// instance), their standard error to `log`.
    pub async fn start(
        bin_dir: &Path,
        invoke_port: u16,
        specs: &[FunctionSpec],
        env: &[(String, String)],
        log: &std::fs::File,
        mut stdout: impl FnMut(tokio::process::ChildStdout),
    ) -> Result<Self, BoxError> {
        let mut pools = HashMap::new();
        let (mut children, mut servers) = (Vec::new(), Vec::new());
        for spec in specs {
            // A cargo build puts `<dir>/<name>`, cargo lambda `<dir>/<name>/bootstrap`.
            let binary = [
                bin_dir.join(spec.name),
                bin_dir.join(spec.name).join("bootstrap"),
            ]
            .into_iter()
            .find(|path| path.is_file())
            .ok_or_else(|| {
                format!(
                    "{} is not built (cargo build --bins, or cargo lambda build)",
                    bin_dir.join(spec.name).display()
                )
            })?;
            let (queue, next) = mpsc::channel(1024);
            let pool = Arc::new(Pool {
                name: spec.name.into(),
                timeout: spec.timeout,
                queue,
                next: Mutex::new(next),
                pending: StdMutex::default(),
            });
            let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
            let runtime_api = listener.local_addr()?.to_string();
            let server_pool = pool.clone();
            servers.push(tokio::spawn(crate::invoke_api::serve(
                listener,
                move |request| {
                    let pool = server_pool.clone();
                    async move { runtime_answer(request, &pool).await }
                },
            )));
            for instance in 0..spec.instances {
                let mut child = Command::new(&binary)
                    .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
                    .env("AWS_LAMBDA_FUNCTION_NAME", spec.name)
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                    .env(
                        "AWS_LAMBDA_LOG_GROUP_NAME",
                        format!("/aws/lambda/{}", spec.name),
                    )
                    .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{instance}"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::from(log.try_clone()?))
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|err| format!("starting {}: {err}", binary.display()))?;
                if let Some(out) = child.stdout.take() {
                    stdout(out);
                }
                children.push(child);
            }
            pools.insert(spec.name.to_owned(), pool);
        }
        let pools = Arc::new(pools);
        let handler: Handler = Arc::new(move |invocation: Invocation| {
            let pools = pools.clone();
            Box::pin(async move {
                match pools.get(&invocation.function) {
                    Some(pool) => pool.invoke(invocation.payload).await,
                    None => Reply::service_error(
                        404,
                        "ResourceNotFoundException",
                        &format!("Function not found: {}", invocation.function),
                    ),
                }
            })
        });
        let endpoint = Endpoint::start(invoke_port, handler).await?;
        Ok(Self {
            endpoint,
            children,
            servers,
        })
    }

    /// Stops every instance.
    pub async fn stop(mut self) {
        for child in &mut self.children {
            let _ = child.start_kill();
        }
        for child in &mut self.children {
            let _ = child.wait().await;
        }
        for server in &self.servers {
            server.abort();
        }
    }
}

impl Pool {
    /// Queues an invocation and waits for an instance's answer, at most the
    /// function's timeout once an instance has taken it.
    async fn invoke(&self, payload: Bytes) -> Reply {
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Job { payload, reply }).await.is_err() {
            return Reply::service_error(500, "ServiceException", "the function's pool is gone");
        }
        // An instance that died holding the invocation leaves it unanswered.
        let limit = self.timeout * 2 + Duration::from_secs(60);
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) | Err(_) => Reply {
                function_error: Some("Unhandled".into()),
                ..Reply::new(
                    200,
                    r#"{"errorType":"Runtime.ExitError","errorMessage":"the instance ended without an answer"}"#,
                )
            },
        }
    }
}

async fn runtime_answer(
    request: Request<hyper::body::Incoming>,
    pool: &Pool,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return status(404);
    };
    if rest == "invocation/next" {
        return next_invocation(pool).await;
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if rest == "init/error" {
        tracing::error!(function = %pool.name, "INSTANCE_INIT_FAILED");
        return status(202);
    }
    let Some((id, outcome)) = rest
        .strip_prefix("invocation/")
        .and_then(|r| r.split_once('/'))
    else {
        return status(404);
    };
    let reply = match outcome {
        "response" => Reply::new(200, body),
        "error" => Reply {
            function_error: Some("Unhandled".into()),
            ..Reply::new(200, body)
        },
        _ => return status(404),
    };
    let waiting = pool
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(id);
    match waiting {
        Some(sender) => {
            let _ = sender.send(reply);
            status(202)
        }
        None => status(400),
    }
}

/// Hands the next queued invocation to the instance asking, when there is one.
async fn next_invocation(pool: &Pool) -> Response<Full<Bytes>> {
    let job = pool.next.lock().await.recv().await;
    let Some(job) = job else { return status(500) };
    let id = uuid::Uuid::new_v4().to_string();
    let deadline = SystemTime::now() + pool.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    pool.pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), job.reply);
    Response::builder()
        .status(200)
        .header("Lambda-Runtime-Aws-Request-Id", &id)
        .header("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string())
        .header(
            "Lambda-Runtime-Invoked-Function-Arn",
            format!(
                "arn:aws:lambda:us-east-1:000000000000:function:{}",
                pool.name
            ),
        )
        .header(
            "Lambda-Runtime-Trace-Id",
            format!(
                "Root=1-00000000-{};Sampled=0",
                id.replace('-', "")[..24].to_owned()
            ),
        )
        .header("Content-Type", "application/json")
        .body(Full::new(job.payload))
        .unwrap_or_else(|_| status(500))
}

fn status(code: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
