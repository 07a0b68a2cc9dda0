//! The local stack: the four functions and the original Rules Engine's echo
//! (the kit's `integration-legacy`) as their real binaries, in process
//! pools that scale, throttle and queue as Lambda does ([`kit::lambda`]) or
//! under `cargo lambda watch`; the front that every invocation goes through;
//! the stream poller standing in for the event source mapping; and the
//! consumer's schedule, all on 127.0.0.1 against DynamoDB Local behind the IAM
//! gate, which holds each function to its role in the template. The
//! functions' SDKs are pointed at the local endpoints by the environment
//! (`AWS_ENDPOINT_URL_*`); they have no local mode.
//!
//! `cargo lambda watch` runs in a process group of its own, so a Ctrl-C reaches
//! the demo first; the demo stops it, and it stops its instances, also when the
//! stack is dropped on an error. Pool instances are stopped by the stack, and
//! killed when the demo's process ends.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use kit::{
    aws::{create_table, sdk_config},
    iam::{gate::Gate, Policies, Role},
    lambda::{invoke_api::Endpoint, FunctionReport},
    stream::event::scheduled_event,
};
use serde_json::{json, Value};
use shared::{table::STATE_TABLE, Store, SystemClock};

use front::Backend;

pub mod faults;
pub mod front;
mod functions;
mod triggers;
mod warm;

pub use functions::function_specs;
use functions::{function_env, signal, start_pools, start_watch, stop_watch, Running};
use triggers::{start_poller, start_schedule};
pub use warm::warm_dynamodb;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the stack runs.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Contacts in flight at once: the functions' concurrency limits follow
    /// from it ([`function_specs`]; `cargo lambda watch` gets twice as many
    /// instances, started before the first contact).
    pub in_flight: u32,
    /// The most instances of one function. Each instance is a process of its
    /// own, so a very large run needs a cap.
    pub max_instances: u32,
    /// How often the consumer's schedule fires (the template's is one minute).
    pub schedule_every: Duration,
    /// The consumer's grace past a deadline before it sweeps a run (`ABANDONED_GRACE_MS`).
    pub abandoned_grace: Duration,
    /// Where the functions' logs go.
    pub log_file: std::path::PathBuf,
    /// Contacts whose integration invocations the front refuses.
    pub refusals: faults::Refusals,
    /// Contacts whose first start dies after its invoke.
    pub start_deaths: faults::StartDeaths,
    /// What runs the functions.
    pub host: Host,
}

/// What runs the functions' binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `cargo lambda watch`: builds what is not built, and starts each instance
    /// through `cargo run`; for the edit-and-reload loop on one function.
    Watch,
    /// Pools of the binaries in this directory ([`Functions`]), each function's
    /// concurrency limit from `in_flight` and `max_instances` ([`function_specs`]).
    Processes(std::path::PathBuf),
}

/// The metrics documents the consumer printed, as they arrive.
#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Vec<Value>>>);

impl Metrics {
    pub fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The documents that name `run_id`.
    pub fn for_run(&self, run_id: &str) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|doc| doc["RunId"] == run_id)
            .collect()
    }

    fn push(&self, doc: Value) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(doc);
    }
}

pub struct Stack {
    pub store: Store,
    /// A Lambda client for the functions, through the front.
    pub lambda: aws_sdk_lambda::Client,
    pub metrics: Metrics,
    pub front: Endpoint,
    refusals: faults::Refusals,
    start_deaths: faults::StartDeaths,
    running: Running,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    gate: Gate,
}

impl Stack {
    pub async fn start(options: &StackOptions) -> Result<Self, BoxError> {
        if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
            return Err("AWS_ENDPOINT_URL_DYNAMODB is not set: start DynamoDB Local first (scripts/demo does)".into());
        }
        let sdk = sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = format!("demo-{}", uuid::Uuid::new_v4().simple());
        create_table(&dynamodb, &table, &STATE_TABLE).await?;
        // Every function's requests to DynamoDB and its streams go through the
        // gate, which holds each to its role in the template.
        let policies = Arc::new(Policies::for_stack(
            &table,
            kit::iam::LOCAL_ALLOWED_FUNCTIONS,
        ));
        let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")?;
        let gate = Gate::start(&upstream, (*policies).clone()).await?;
        let store = Store::new(dynamodb.clone(), &table, Arc::new(SystemClock));

        let log = std::fs::File::create(&options.log_file)?;
        let metrics = Metrics::default();
        let mut tasks = Vec::new();
        // The front is bound first: the functions are told its address.
        let front_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let front_url = format!("http://{}", front_listener.local_addr()?);
        let env = function_env(&table, &front_url, &gate.url, options);
        let (running, backend) = match &options.host {
            Host::Watch => {
                let (watch, reader, port) = start_watch(options, &env, &log, &metrics)?;
                tasks.push(reader);
                let backend = lambda_client(&sdk, &format!("http://127.0.0.1:{port}"));
                (Running::Watch(watch), Backend::Watch(backend))
            }
            Host::Processes(bin_dir) => {
                let functions = start_pools(options, bin_dir, env, &log, &metrics)?;
                (
                    Running::Processes(functions.clone()),
                    Backend::Pools(functions),
                )
            }
        };
        let front = front::start(
            front_listener,
            backend,
            options.refusals.clone(),
            options.start_deaths.clone(),
            policies,
        )?;
        let lambda = lambda_client(&sdk, &front.url());
        let mut stack = Self {
            store,
            lambda,
            metrics,
            front,
            refusals: options.refusals.clone(),
            start_deaths: options.start_deaths.clone(),
            running,
            tasks: Vec::new(),
            gate,
        };
        stack.wait_until_served().await?;
        warm_dynamodb(&dynamodb, 1, 100).await?;
        if options.host == Host::Watch {
            // `cargo lambda watch` starts an instance through `cargo run`, far
            // slower than a Lambda cold start, so it is made to start them now.
            stack
                .warm_up(options.in_flight.min(options.max_instances.max(2) / 2))
                .await;
            // Let the instance start-ups settle before the first contact.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        // Lambda's event source mapping reads the stream with the consumer's role.
        let streams = aws_sdk_dynamodbstreams::Client::from_conf(
            aws_sdk_dynamodbstreams::config::Builder::from(&sdk)
                .endpoint_url(&stack.gate.url)
                .credentials_provider(Role::Consumer.credentials())
                .build(),
        );
        tasks.push(start_poller(&dynamodb, streams, &table, &stack.lambda).await?);
        tasks.push(start_schedule(stack.lambda.clone(), options.schedule_every));
        stack.tasks = tasks;
        Ok(stack)
    }

    /// The functions' DynamoDB requests so far, by role and operation.
    pub fn dynamodb_requests(&self) -> kit::iam::gate::Requests {
        self.gate.requests()
    }

    /// Waits until every function answers, building what is not built yet.
    async fn wait_until_served(&mut self) -> Result<(), BoxError> {
        let ping = json!({"keepWarm": {"name": "local-stack", "arn": "local"}});
        for (function, event) in [
            ("integration-start", ping.clone()),
            ("check-timeout", ping.clone()),
            ("integration-echo", ping.clone()),
            // The original's echo takes the ping for a request without its
            // fields: it answers, writing nothing, as the original does.
            ("integration-legacy", ping.clone()),
            ("stream-consumer", json!({"Records": []})),
        ] {
            let mut tries = 0;
            loop {
                if let Running::Watch(watch) = &mut self.running {
                    if let Some(status) = watch.try_wait()? {
                        return Err(
                            format!("`cargo lambda watch` exited ({status}); see its log").into(),
                        );
                    }
                }
                match invoke(&self.lambda, function, &event).await {
                    Ok(_) => break,
                    Err(_) if tries < 600 => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(err) => return Err(format!("{function} did not answer: {err}").into()),
                }
            }
        }
        Ok(())
    }

    /// Starts instances of start, check-timeout (`in_flight` each), echo
    /// (twice that) and the original's echo (one in four contacts meets it in
    /// the mixed run) with concurrent keep-warm pings, so contacts do not wait for
    /// `cargo lambda watch` to start instances, which takes far longer than a
    /// Lambda cold start.
    async fn warm_up(&self, in_flight: u32) {
        let ping = json!({"keepWarm": {"name": "local-stack", "arn": "local"}});
        let mut pings = tokio::task::JoinSet::new();
        for (function, instances) in [
            ("integration-start", in_flight),
            ("check-timeout", in_flight),
            ("integration-echo", 2 * in_flight),
            ("integration-legacy", in_flight.div_ceil(2)),
        ] {
            for _ in 0..instances {
                let (lambda, ping) = (self.lambda.clone(), ping.clone());
                pings.spawn(async move { invoke(&lambda, function, &ping).await.is_ok() });
            }
        }
        while pings.join_next().await.is_some() {}
    }

    /// What the process pools did, function by function (none under `cargo
    /// lambda watch`, which does not say).
    pub fn lambda_report(&self) -> Option<Vec<FunctionReport>> {
        match &self.running {
            Running::Processes(functions) => Some(functions.report()),
            Running::Watch(_) | Running::Stopped => None,
        }
    }

    /// The contacts whose integration invocations the front refused.
    pub fn front_refusals(&self) -> std::collections::HashSet<String> {
        self.refusals.refused()
    }

    /// Whether starts were made to die, and the contacts whose first start
    /// died after its invoke, each with the integration invocations its retry
    /// made (`None`: no retry answered).
    pub fn start_deaths(&self) -> (bool, Vec<(String, Option<usize>)>) {
        (self.start_deaths.armed(), self.start_deaths.died())
    }

    /// The front's refusals, to name more calls to refuse.
    pub fn refusals(&self) -> faults::Refusals {
        self.refusals.clone()
    }

    /// Runs the consumer's schedule now (the sweep for abandoned runs).
    pub async fn sweep_now(&self) -> Result<Value, BoxError> {
        invoke(
            &self.lambda,
            "stream-consumer",
            &scheduled_event(chrono::Utc::now(), "us-east-1"),
        )
        .await
    }

    /// Stops every child and task.
    pub async fn stop(mut self) {
        for task in &self.tasks {
            task.abort();
        }
        match std::mem::replace(&mut self.running, Running::Stopped) {
            Running::Watch(mut watch) => stop_watch(&mut watch).await,
            Running::Processes(functions) => functions.stop().await,
            Running::Stopped => {}
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Running::Watch(watch) = &self.running {
            if let Some(pid) = watch.id() {
                signal(pid, "TERM");
            }
        }
    }
}

/// Invokes `function` synchronously and returns its answer.
pub async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
) -> Result<Value, BoxError> {
    let output = lambda
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .send()
        .await
        .map_err(aws_sdk_lambda::Error::from)?;
    let payload = output.payload.map(|p| p.into_inner()).unwrap_or_default();
    if let Some(kind) = output.function_error {
        return Err(format!(
            "{function} failed ({kind}): {}",
            String::from_utf8_lossy(&payload)
        )
        .into());
    }
    Ok(serde_json::from_slice(&payload).unwrap_or(Value::Null))
}

/// A Lambda client for the Invoke API at `url`, patient enough for a
/// synchronous call that waits for a cold start.
fn lambda_client(sdk: &aws_config::SdkConfig, url: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::config::Builder::from(sdk)
        .endpoint_url(url)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}
