//! The local stack's Lambda: each function is a pool of processes of its built
//! binary, each process an instance that speaks the Lambda Runtime API to a
//! server of its own here. The pools behave as Lambda does where the demo's
//! invariants depend on it:
//!
//! - an instance takes one invocation at a time (it asks for the next one only
//!   once it has answered);
//! - instances start when invocations arrive and none is free (a cold start,
//!   counted and timed from the process's start to its first request for work),
//!   up to the function's concurrency limit, and stay for the next invocation;
//! - a synchronous invocation beyond the limit is refused with 429
//!   `TooManyRequestsException`, as Lambda throttles; an asynchronous one is
//!   queued until an instance is free, and its time in the queue is recorded;
//! - an invocation that outlives the function's timeout, or whose instance
//!   dies, is answered with Lambda's error, and the instance is replaced.

use std::{
    collections::{HashMap, VecDeque},
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request, Response};
use tokio::{net::TcpListener, process::Command, sync::oneshot};

use super::invoke_api::{self, Invocation, InvocationType, Reply};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Lambda ends an instance whose runtime is not ready for work this long
/// after it started, and fails the invocation that waited for it.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// Where each instance's standard output goes (the consumer's metrics are on it).
pub type OutputSink = Arc<dyn Fn(tokio::process::ChildStdout) + Send + Sync>;

/// One function to run.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: &'static str,
    /// The most instances at once: the function's concurrency limit.
    pub limit: u32,
    /// Lambda's timeout for one invocation.
    pub timeout: Duration,
}

/// How the instances are started: the binary and what it is given.
pub struct Launch {
    /// A cargo build's `<dir>/<name>`, or cargo lambda's `<dir>/<name>/bootstrap`.
    pub bin_dir: PathBuf,
    /// Variables on top of Lambda's own.
    pub env: Vec<(String, String)>,
    /// Where the instances' standard error goes.
    pub log: std::fs::File,
    pub stdout: OutputSink,
}

/// The running functions.
pub struct Functions {
    pools: HashMap<String, Arc<Pool>>,
}

impl Functions {
    /// Finds every function's binary and readies its pool; no instance runs
    /// until the first invocation.
    pub fn start(launch: Launch, specs: &[FunctionSpec]) -> Result<Self, BoxError> {
        let launch = Arc::new(launch);
        let mut pools = HashMap::new();
        for spec in specs {
            let binary = find_binary(&launch.bin_dir, spec.name)?;
            let pool = Pool {
                spec: spec.clone(),
                binary,
                launch: launch.clone(),
                inner: Mutex::default(),
            };
            pools.insert(spec.name.to_owned(), Arc::new(pool));
        }
        Ok(Self { pools })
    }

    /// Answers an invocation as Lambda's Invoke API does.
    pub async fn invoke(&self, invocation: Invocation) -> Reply {
        let Some(pool) = self.pools.get(&invocation.function) else {
            return Reply::service_error(
                404,
                "ResourceNotFoundException",
                &format!("Function not found: {}", invocation.function),
            );
        };
        match invocation.invocation_type {
            InvocationType::RequestResponse => pool.call(invocation.payload).await,
            InvocationType::Event => {
                pool.enqueue(invocation.payload, None);
                Reply::accepted()
            }
            InvocationType::DryRun => Reply::new(204, ""),
        }
    }

    /// What each function's pool has done so far, by function name.
    pub fn report(&self) -> Vec<FunctionReport> {
        let mut reports: Vec<FunctionReport> =
            self.pools.values().map(|pool| pool.report()).collect();
        reports.sort_by(|a, b| a.name.cmp(b.name));
        reports
    }

    /// The instances of `function` as they are now, oldest first (none for a
    /// function not in the pools): for a caller that measures an instance's
    /// process at a known point of its life, its memory once it has answered.
    pub fn instances(&self, function: &str) -> Vec<InstanceState> {
        let Some(pool) = self.pools.get(function) else {
            return Vec::new();
        };
        let inner = pool.lock();
        let mut ids: Vec<u32> = inner.instances.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|id| InstanceState {
                pid: inner.instances[&id].pid,
                waiting: inner.idle.iter().any(|(waiting, _)| *waiting == id),
            })
            .collect()
    }

    /// Stops every instance and waits for them to end.
    pub async fn stop(&self) {
        let mut watchers = Vec::new();
        for pool in self.pools.values() {
            let mut inner = pool.lock();
            inner.stopping = true;
            for job in std::mem::take(&mut inner.sync_queue) {
                if let Some(reply) = job.reply {
                    let _ = reply.send(Reply::service_error(
                        500,
                        "ServiceException",
                        "the function's pool stopped",
                    ));
                }
            }
            inner.async_queue.clear();
            for slot in inner.instances.values_mut() {
                if let Some(kill) = slot.kill.take() {
                    let _ = kill.send(());
                }
            }
            watchers.append(&mut inner.watchers);
        }
        for watcher in watchers {
            let _ = tokio::time::timeout(Duration::from_secs(10), watcher).await;
        }
    }
}

/// What one function's pool did.
#[derive(Debug, Clone, Default)]
pub struct FunctionReport {
    pub name: &'static str,
    pub limit: u32,
    pub sync_invocations: u64,
    pub async_invocations: u64,
    /// Synchronous invocations refused at the concurrency limit.
    pub throttled: u64,
    /// From an instance's process start to its first request for work.
    pub cold_starts: Vec<Duration>,
    /// The most invocations running at once.
    pub peak_concurrency: u32,
    /// How long each asynchronous invocation waited for an instance.
    pub async_queue_delays: Vec<Duration>,
    /// Invocations that outlived the function's timeout.
    pub timed_out: u64,
    /// Instances that ended on their own (a crash, or an init that failed),
    /// not stopped for a timeout or by the pool.
    pub crashed: u64,
    /// Asynchronous invocations whose function failed (Lambda would retry them
    /// twice, minutes later; the pools do not).
    pub async_failures: u64,
}

/// One instance of a function, as [`Functions::instances`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceState {
    /// Its process's id, once the process has started.
    pub pid: Option<u32>,
    /// It has asked for work and waits for it: it has answered what it was given.
    pub waiting: bool,
}

/// One queued invocation. `reply` is absent for an asynchronous one: nobody waits.
struct Job {
    payload: Bytes,
    reply: Option<oneshot::Sender<Reply>>,
    queued: Instant,
}

/// What an instance is handed when it asks for work.
struct Work {
    request_id: String,
    payload: Bytes,
    deadline_ms: u128,
}

/// The invocation an instance is running.
struct Current {
    request_id: String,
    reply: Option<oneshot::Sender<Reply>>,
}

/// What became of an instance's request for work.
enum Asking {
    /// The instance is no longer in the pool.
    Gone,
    /// It is being stopped.
    Doomed,
    /// It waits for the next job.
    Waiting,
}

/// One instance, as its pool sees it.
struct Slot {
    spawned: Instant,
    ready: bool,
    current: Option<Current>,
    kill: Option<oneshot::Sender<()>>,
    /// Being stopped (its invocation timed out): it takes no more work.
    doomed: bool,
    /// The process's id, once it has started.
    pid: Option<u32>,
}

#[derive(Default)]
struct Inner {
    sync_queue: VecDeque<Job>,
    async_queue: VecDeque<Job>,
    /// Instances waiting for work, each with the channel its request waits on.
    idle: Vec<(u32, oneshot::Sender<Work>)>,
    instances: HashMap<u32, Slot>,
    running: u32,
    next_id: u32,
    stopping: bool,
    watchers: Vec<tokio::task::JoinHandle<()>>,
    report: FunctionReport,
}

struct Pool {
    spec: FunctionSpec,
    binary: PathBuf,
    launch: Arc<Launch>,
    inner: Mutex<Inner>,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A synchronous invocation: refused at the limit, else queued and answered.
    async fn call(self: &Arc<Self>, payload: Bytes) -> Reply {
        let (reply, answer) = oneshot::channel();
        let launches = {
            let mut inner = self.lock();
            inner.report.sync_invocations += 1;
            // Checked and queued under one lock, so that callers at once cannot
            // all pass the check.
            if inner.running + inner.sync_queue.len() as u32 >= self.spec.limit {
                inner.report.throttled += 1;
                let body = serde_json::json!({
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                    "Type": "User",
                    "message": "Rate Exceeded.",
                });
                return Reply {
                    error_type: Some("TooManyRequestsException".into()),
                    ..Reply::new(429, body.to_string())
                };
            }
            self.enqueue_locked(&mut inner, payload, Some(reply))
        };
        for id in launches {
            self.launch(id);
        }
        // Every queued job is answered: by its instance, by the timeout guard,
        // when its instance ends, or when the pool stops.
        answer.await.unwrap_or_else(|_| {
            Reply::service_error(500, "ServiceException", "the function's pool stopped")
        })
    }

    /// Queues a job, hands it to a waiting instance if there is one, and starts
    /// instances for what no instance will take soon.
    fn enqueue(self: &Arc<Self>, payload: Bytes, reply: Option<oneshot::Sender<Reply>>) {
        let launches = self.enqueue_locked(&mut self.lock(), payload, reply);
        for id in launches {
            self.launch(id);
        }
    }

    /// [`Self::enqueue`] under the pool's lock; returns the instances to launch.
    fn enqueue_locked(
        self: &Arc<Self>,
        inner: &mut Inner,
        payload: Bytes,
        reply: Option<oneshot::Sender<Reply>>,
    ) -> Vec<u32> {
        if inner.stopping {
            return Vec::new();
        }
        let job = Job {
            payload,
            queued: Instant::now(),
            reply,
        };
        if job.reply.is_some() {
            inner.sync_queue.push_back(job);
        } else {
            inner.report.async_invocations += 1;
            inner.async_queue.push_back(job);
        }
        self.dispatch(inner);
        self.reserve_instances(inner)
    }

    /// Hands queued jobs (synchronous first) to waiting instances.
    fn dispatch(self: &Arc<Self>, inner: &mut Inner) {
        while !inner.sync_queue.is_empty() || !inner.async_queue.is_empty() {
            let Some((id, waiting)) = inner.idle.pop() else {
                return;
            };
            let job = match inner.sync_queue.pop_front() {
                Some(job) => job,
                None => inner.async_queue.pop_front().expect("a queue is not empty"),
            };
            if let Err(job) = self.hand(inner, id, waiting, job) {
                // That instance's request is gone; the job goes back first in line.
                if job.reply.is_some() {
                    inner.sync_queue.push_front(job);
                } else {
                    inner.async_queue.push_front(job);
                }
            }
        }
    }

    /// Gives `job` to instance `id`, whose request for work waits on `waiting`.
    fn hand(
        self: &Arc<Self>,
        inner: &mut Inner,
        id: u32,
        waiting: oneshot::Sender<Work>,
        job: Job,
    ) -> Result<(), Job> {
        if !inner.instances.contains_key(&id) {
            return Err(job);
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline = SystemTime::now() + self.spec.timeout;
        let work = Work {
            request_id: request_id.clone(),
            payload: job.payload.clone(),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        };
        if waiting.send(work).is_err() {
            return Err(job);
        }
        if job.reply.is_none() {
            inner.report.async_queue_delays.push(job.queued.elapsed());
        }
        inner.running += 1;
        inner.report.peak_concurrency = inner.report.peak_concurrency.max(inner.running);
        let slot = inner.instances.get_mut(&id).expect("checked above");
        slot.current = Some(Current {
            request_id: request_id.clone(),
            reply: job.reply,
        });
        let pool = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(pool.spec.timeout).await;
            pool.time_out(id, &request_id);
        });
        Ok(())
    }

    /// How many instances to start now, reserved in the pool: one for each
    /// queued job that no running or starting instance will take, up to the limit.
    fn reserve_instances(&self, inner: &mut Inner) -> Vec<u32> {
        if inner.stopping {
            return Vec::new();
        }
        let queued = (inner.sync_queue.len() + inner.async_queue.len()) as u32;
        let alive = inner.instances.len() as u32;
        let free_soon = alive.saturating_sub(inner.running);
        let room = self.spec.limit.saturating_sub(alive);
        let wanted = queued.saturating_sub(free_soon).min(room);
        (0..wanted)
            .map(|_| {
                let id = inner.next_id;
                inner.next_id += 1;
                inner.instances.insert(
                    id,
                    Slot {
                        spawned: Instant::now(),
                        ready: false,
                        current: None,
                        kill: None,
                        doomed: false,
                        pid: None,
                    },
                );
                id
            })
            .collect()
    }

    /// Starts the process of instance `id`, with its Runtime API server and a
    /// watcher that tells the pool when it ends.
    fn launch(self: &Arc<Self>, id: u32) {
        let Err(err) = self.spawn(id) else {
            return;
        };
        tracing::error!(function = self.spec.name, error = %err, "INSTANCE_START_FAILED");
        let retry = {
            let mut inner = self.lock();
            inner.instances.remove(&id);
            // As Lambda fails an invocation whose instance cannot be started.
            let message = format!("an instance could not be started: {err}");
            self.fail_oldest(&mut inner, "ServiceException", &message);
            !inner.sync_queue.is_empty() || !inner.async_queue.is_empty()
        };
        if retry {
            // What still waits is tried again after a pause, not at once: a
            // start that failed for want of file descriptors would fail again.
            let pool = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let launches = pool.reserve_instances(&mut pool.lock());
                for id in launches {
                    pool.launch(id);
                }
            });
        }
    }

    /// Fails the oldest waiting job (synchronous first) with a Lambda error of
    /// `error_type`; an asynchronous one is counted as failed.
    fn fail_oldest(&self, inner: &mut Inner, error_type: &str, message: &str) {
        let job = match inner.sync_queue.pop_front() {
            Some(job) => job,
            None => match inner.async_queue.pop_front() {
                Some(job) => job,
                None => return,
            },
        };
        match job.reply {
            Some(reply) => {
                let _ = reply.send(function_error(error_type, message));
            }
            None => inner.report.async_failures += 1,
        }
    }

    fn spawn(self: &Arc<Self>, id: u32) -> Result<(), BoxError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let runtime_api = listener.local_addr()?.to_string();
        let listener = TcpListener::from_std(listener)?;
        let mut child = Command::new(&self.binary)
            .envs(
                self.launch
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", self.spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.spec.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{id}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(self.launch.log.try_clone()?))
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| format!("starting {}: {err}", self.binary.display()))?;
        if let Some(out) = child.stdout.take() {
            (self.launch.stdout)(out);
        }
        let pid = child.id();
        let pool = self.clone();
        let server = tokio::spawn(invoke_api::serve(listener, move |request| {
            let pool = pool.clone();
            async move { pool.runtime_api(id, request).await }
        }));
        let (kill, killed) = oneshot::channel::<()>();
        let pool = self.clone();
        let watcher = tokio::spawn(async move {
            let why = tokio::select! {
                status = child.wait() => match status {
                    Ok(status) => format!("the instance exited ({status})"),
                    Err(err) => format!("the instance could not be waited for: {err}"),
                },
                _ = killed => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    "the instance was stopped".to_owned()
                }
                _ = pool.init_limit(id) => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    format!("the instance was not ready within Lambda's {} s init limit", INIT_LIMIT.as_secs())
                }
            };
            server.abort();
            pool.ended(id, why);
        });
        let mut inner = self.lock();
        inner.watchers.retain(|w| !w.is_finished());
        inner.watchers.push(watcher);
        let stopping = inner.stopping;
        match inner.instances.get_mut(&id) {
            Some(slot) if !stopping => {
                slot.kill = Some(kill);
                slot.pid = pid;
            }
            // The pools were stopped while it started.
            _ => {
                let _ = kill.send(());
            }
        }
        Ok(())
    }

    /// Resolves when instance `id` has not asked for work within
    /// [`INIT_LIMIT`] of its start; never, once it has.
    async fn init_limit(&self, id: u32) {
        tokio::time::sleep(INIT_LIMIT).await;
        let ready = self.lock().instances.get(&id).is_none_or(|slot| slot.ready);
        if ready {
            std::future::pending::<()>().await;
        }
    }

    /// Instance `id` is gone: its invocation, if any, is answered with `why`;
    /// one that never got ready fails the oldest waiting job, as an init failure
    /// fails the invocation that caused it; instances are started for what waits.
    fn ended(self: &Arc<Self>, id: u32, why: String) {
        let launches = {
            let mut inner = self.lock();
            let Some(slot) = inner.instances.remove(&id) else {
                return;
            };
            inner.idle.retain(|(waiting, _)| *waiting != id);
            let stopped = inner.stopping || slot.doomed;
            if !stopped {
                inner.report.crashed += 1;
                tracing::warn!(function = self.spec.name, instance = id, %why, "INSTANCE_ENDED");
            }
            if let Some(current) = slot.current {
                inner.running -= 1;
                if let Some(reply) = current.reply {
                    let _ = reply.send(function_error("Runtime.ExitError", &why));
                }
            } else if !slot.ready && !stopped {
                self.fail_oldest(&mut inner, "Runtime.ExitError", &why);
            }
            self.reserve_instances(&mut inner)
        };
        for id in launches {
            self.launch(id);
        }
    }

    /// The invocation `request_id` of instance `id` outlived the timeout: it is
    /// answered as Lambda answers, and the instance is stopped (and replaced
    /// when work waits).
    fn time_out(&self, id: u32, request_id: &str) {
        let mut inner = self.lock();
        let Some(slot) = inner.instances.get_mut(&id) else {
            return;
        };
        if slot
            .current
            .as_ref()
            .is_none_or(|c| c.request_id != request_id)
        {
            return;
        }
        let current = slot.current.take().expect("checked above");
        slot.doomed = true;
        if let Some(kill) = slot.kill.take() {
            let _ = kill.send(());
        }
        inner.running -= 1;
        inner.report.timed_out += 1;
        tracing::warn!(
            function = self.spec.name,
            instance = id,
            "INVOCATION_TIMED_OUT"
        );
        if let Some(reply) = current.reply {
            let message = format!(
                "Task timed out after {:.2} seconds",
                self.spec.timeout.as_secs_f64()
            );
            let _ = reply.send(function_error("Sandbox.Timedout", &message));
        }
    }

    /// The Runtime API of instance `id`.
    async fn runtime_api(
        self: &Arc<Self>,
        id: u32,
        request: Request<hyper::body::Incoming>,
    ) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_owned();
        let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
            return status(404);
        };
        if rest == "invocation/next" {
            return self.next(id).await;
        }
        let body = request
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if rest == "init/error" {
            tracing::error!(
                function = self.spec.name,
                instance = id,
                "INSTANCE_INIT_FAILED"
            );
            return status(202);
        }
        match rest
            .strip_prefix("invocation/")
            .and_then(|r| r.split_once('/'))
        {
            Some((request_id, "response")) => self.answered(id, request_id, None, body),
            Some((request_id, "error")) => {
                self.answered(id, request_id, Some("Unhandled".into()), body)
            }
            _ => status(404),
        }
    }

    /// An instance asks for work: it gets the next queued job, or waits for one.
    async fn next(self: &Arc<Self>, id: u32) -> Response<Full<Bytes>> {
        let (waiting, work) = oneshot::channel();
        match self.ready_for_work(id, waiting) {
            Asking::Gone => return status(500),
            // Its kill is on the way; the request is held until then.
            Asking::Doomed => return std::future::pending().await,
            Asking::Waiting => {}
        }
        // The request is held until there is work, as Lambda holds it.
        match work.await {
            Ok(work) => Response::builder()
                .status(200)
                .header("Lambda-Runtime-Aws-Request-Id", &work.request_id)
                .header("Lambda-Runtime-Deadline-Ms", work.deadline_ms.to_string())
                .header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    format!(
                        "arn:aws:lambda:us-east-1:000000000000:function:{}",
                        self.spec.name
                    ),
                )
                .header(
                    "Lambda-Runtime-Trace-Id",
                    format!(
                        "Root=1-00000000-{};Sampled=0",
                        &work.request_id.replace('-', "")[..24]
                    ),
                )
                .header("Content-Type", "application/json")
                .body(Full::new(work.payload))
                .unwrap_or_else(|_| status(500)),
            Err(_) => status(500),
        }
    }

    /// Instance `id` is ready for work, to be sent on `waiting`: its first
    /// request ends its cold start.
    fn ready_for_work(self: &Arc<Self>, id: u32, waiting: oneshot::Sender<Work>) -> Asking {
        let mut inner = self.lock();
        let Some(slot) = inner.instances.get_mut(&id) else {
            return Asking::Gone;
        };
        if slot.doomed {
            return Asking::Doomed;
        }
        if !slot.ready {
            slot.ready = true;
            let init = slot.spawned.elapsed();
            inner.report.cold_starts.push(init);
        }
        if let Some(current) = inner.instances.get_mut(&id).and_then(|s| s.current.take()) {
            // A runtime that asks for more before answering has dropped its
            // invocation; Lambda's runtimes never do.
            inner.running -= 1;
            if let Some(reply) = current.reply {
                let _ = reply.send(function_error(
                    "Runtime.InvalidResponse",
                    "the runtime asked for the next invocation before answering this one",
                ));
            }
        }
        inner.idle.push((id, waiting));
        self.dispatch(&mut inner);
        Asking::Waiting
    }

    /// Instance `id` answered `request_id`, with a function error or not.
    fn answered(
        &self,
        id: u32,
        request_id: &str,
        function_error: Option<String>,
        body: Bytes,
    ) -> Response<Full<Bytes>> {
        let mut inner = self.lock();
        let current = inner
            .instances
            .get_mut(&id)
            .and_then(|slot| match &slot.current {
                Some(c) if c.request_id == request_id => slot.current.take(),
                _ => None,
            });
        let Some(current) = current else {
            // Not this instance's invocation, or answered after its timeout.
            return status(400);
        };
        inner.running -= 1;
        match current.reply {
            Some(reply) => {
                let _ = reply.send(Reply {
                    function_error,
                    ..Reply::new(200, body)
                });
            }
            None if function_error.is_some() => {
                // Counted in the report: a line here would land in the middle of
                // the demo's progress, and the function has logged why.
                inner.report.async_failures += 1;
            }
            None => {}
        }
        status(202)
    }

    fn report(&self) -> FunctionReport {
        FunctionReport {
            name: self.spec.name,
            limit: self.spec.limit,
            ..self.lock().report.clone()
        }
    }
}

/// The answer to an invocation whose function failed, as Lambda writes it.
fn function_error(error_type: &str, message: &str) -> Reply {
    let body = serde_json::json!({"errorType": error_type, "errorMessage": message});
    Reply {
        function_error: Some("Unhandled".into()),
        ..Reply::new(200, body.to_string())
    }
}

fn find_binary(bin_dir: &Path, name: &str) -> Result<PathBuf, BoxError> {
    [bin_dir.join(name), bin_dir.join(name).join("bootstrap")]
        .into_iter()
        .find(|path| path.is_file())
        .ok_or_else(|| {
            format!(
                "{} is not built (cargo build --bins, or cargo lambda build)",
                bin_dir.join(name).display()
            )
            .into()
        })
}

fn status(code: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests;
