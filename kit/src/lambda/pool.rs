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
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use hyper::body::Bytes;
use tokio::sync::oneshot;

use super::invoke_api::{self, Invocation, InvocationType, Reply};
use instance::find_binary;

mod instance;
mod report;
mod runtime_api;

pub use report::{FunctionReport, InstanceState};

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
    /// Variables of this function's own, on top of [`Launch::env`] (its
    /// role's credentials, on the local stack).
    pub env: Vec<(String, String)>,
}

/// How the instances are started: the binary and what it is given.
pub struct Launch {
    /// A cargo build's `<dir>/<name>`, or cargo lambda's `<dir>/<name>/bootstrap`.
    pub bin_dir: PathBuf,
    /// Variables on top of Lambda's own.
    pub env: Vec<(String, String)>,
    /// Whether the instances also get this process's environment (the local
    /// stack's endpoints and credentials); without it they get only Lambda's
    /// variables and `env`, as on Lambda.
    pub inherit_env: bool,
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
}

/// The answer to an invocation whose function failed, as Lambda writes it.
fn function_error(error_type: &str, message: &str) -> Reply {
    let body = serde_json::json!({"errorType": error_type, "errorMessage": message});
    Reply {
        function_error: Some("Unhandled".into()),
        ..Reply::new(200, body.to_string())
    }
}

#[cfg(test)]
mod tests;
