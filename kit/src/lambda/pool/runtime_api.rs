//! The Runtime API an instance speaks to: its requests for work, and its
//! answers and errors.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request, Response};
use tokio::sync::oneshot;

use super::{function_error, Asking, Pool, Reply, Work};

impl Pool {
    /// The Runtime API of instance `id`.
    pub(super) async fn runtime_api(
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
    pub(super) async fn next(self: &Arc<Self>, id: u32) -> Response<Full<Bytes>> {
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
    pub(super) fn ready_for_work(
        self: &Arc<Self>,
        id: u32,
        waiting: oneshot::Sender<Work>,
    ) -> Asking {
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
    pub(super) fn answered(
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
}

fn status(code: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
