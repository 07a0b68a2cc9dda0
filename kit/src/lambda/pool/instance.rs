//! An instance's life: its process started with its own Runtime API server,
//! held to Lambda's init limit and the function's timeout, and replaced when
//! it ends.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use tokio::{net::TcpListener, process::Command, sync::oneshot};

use super::{function_error, invoke_api, BoxError, Inner, Pool, INIT_LIMIT};

impl Pool {
    /// Starts the process of instance `id`, with its Runtime API server and a
    /// watcher that tells the pool when it ends.
    pub(super) fn launch(self: &Arc<Self>, id: u32) {
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
    pub(super) fn fail_oldest(&self, inner: &mut Inner, error_type: &str, message: &str) {
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

    pub(super) fn spawn(self: &Arc<Self>, id: u32) -> Result<(), BoxError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let runtime_api = listener.local_addr()?.to_string();
        let listener = TcpListener::from_std(listener)?;
        let mut command = Command::new(&self.binary);
        if !self.launch.inherit_env {
            command.env_clear();
        }
        let mut child = command
            .envs(
                self.launch
                    .env
                    .iter()
                    .chain(&self.spec.env)
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
    pub(super) async fn init_limit(&self, id: u32) {
        tokio::time::sleep(INIT_LIMIT).await;
        let ready = self.lock().instances.get(&id).is_none_or(|slot| slot.ready);
        if ready {
            std::future::pending::<()>().await;
        }
    }

    /// Instance `id` is gone: its invocation, if any, is answered with `why`;
    /// one that never got ready fails the oldest waiting job, as an init failure
    /// fails the invocation that caused it; instances are started for what waits.
    pub(super) fn ended(self: &Arc<Self>, id: u32, why: String) {
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
    pub(super) fn time_out(&self, id: u32, request_id: &str) {
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
}

pub(super) fn find_binary(bin_dir: &Path, name: &str) -> Result<PathBuf, BoxError> {
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
