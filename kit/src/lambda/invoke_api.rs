//! A server for the Lambda Invoke API (`POST
//! /2015-03-31/functions/{name}/invocations`) on 127.0.0.1: the part of Lambda
//! the functions and the contact simulator talk to. What answers an invocation
//! is a closure, so the same server is the local stack's front and the tests'
//! stand-in for an integration function.

use std::{
    convert::Infallible, future::Future, net::SocketAddr, pin::Pin, sync::Arc, time::Duration,
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// How the caller asked to be answered (`X-Amz-Invocation-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Synchronous: the caller waits for the function's answer.
    RequestResponse,
    /// Asynchronous: Lambda queues the event and answers 202 at once.
    Event,
    DryRun,
}

/// One invocation as received.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The function name from the path, percent-decoded.
    pub function: String,
    pub invocation_type: InvocationType,
    pub payload: Bytes,
    /// The role whose key signed the request, when a key names one
    /// ([`crate::iam::caller`]): a function of the local stack.
    pub caller: Option<crate::iam::Role>,
}

/// What the endpoint answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// `X-Amzn-ErrorType`: a Lambda service error (the invocation did not run).
    pub error_type: Option<String>,
    /// `X-Amz-Function-Error`: the function ran and failed.
    pub function_error: Option<String>,
    pub body: Bytes,
}

impl Reply {
    pub fn accepted() -> Self {
        Self::new(202, Bytes::new())
    }

    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            error_type: None,
            function_error: None,
            body: body.into(),
        }
    }

    /// A Lambda service error, as Lambda writes it.
    pub fn service_error(status: u16, error_type: &str, message: &str) -> Self {
        let body = serde_json::json!({"Type": "User", "message": message}).to_string();
        Self {
            error_type: Some(error_type.to_owned()),
            ..Self::new(status, body)
        }
    }
}

pub type Answer = Pin<Box<dyn Future<Output = Reply> + Send>>;
pub type Handler = Arc<dyn Fn(Invocation) -> Answer + Send + Sync>;

/// A running endpoint; stops when dropped.
pub struct Endpoint {
    pub address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Endpoint {
    /// Serves on `127.0.0.1:port` (0: a free port).
    pub async fn start(port: u16, handler: Handler) -> std::io::Result<Self> {
        Self::on(TcpListener::bind(("127.0.0.1", port)).await?, handler)
    }

    /// Serves on a listener already bound.
    pub fn on(listener: TcpListener, handler: Handler) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let server = tokio::spawn(serve(listener, move |request| {
            let handler = handler.clone();
            async move { answer(request, &handler).await }
        }));
        Ok(Self { address, server })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves HTTP/1.1 on `listener`, each request answered by `respond`, until the
/// task is aborted.
pub async fn serve<F, Fut>(listener: impl Accept, respond: F)
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let stream = match listener.accept_stream().await {
            Ok(stream) => stream,
            Err(err) => {
                // Too many open files, or a connection reset before it was taken:
                // the listener is still good, and the connection that could not
                // be taken yet stays in its backlog. Pause, so that a lack of file
                // descriptors is not a busy loop, and take the next.
                tracing::warn!(error = %err, "accepting a connection failed; serving on");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let respond = respond.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let answer = respond(request);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            // A client that drops its connection mid-way is no concern here.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// How long [`serve`] waits after a failed accept before it tries again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// What [`serve`] takes connections from: a TCP listener, or in tests one that
/// fails as a listener out of file descriptors does.
pub trait Accept: Send + 'static {
    fn accept_stream(&self) -> impl Future<Output = std::io::Result<TcpStream>> + Send;
}

impl Accept for TcpListener {
    async fn accept_stream(&self) -> std::io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

async fn answer(
    request: Request<hyper::body::Incoming>,
    handler: &Handler,
) -> Response<Full<Bytes>> {
    let function = request
        .uri()
        .path()
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(percent_decode);
    let invocation_type = match request
        .headers()
        .get("x-amz-invocation-type")
        .map(|v| v.as_bytes())
    {
        None | Some(b"RequestResponse") => Some(InvocationType::RequestResponse),
        Some(b"Event") => Some(InvocationType::Event),
        Some(b"DryRun") => Some(InvocationType::DryRun),
        Some(_) => None,
    };
    let caller = crate::iam::caller(
        request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
    );
    let payload = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return respond(Reply::service_error(
                400,
                "InvalidRequestContentException",
                "unreadable body",
            ))
        }
    };
    let reply = match (function, invocation_type) {
        (Some(function), Some(invocation_type)) => {
            handler(Invocation {
                function,
                invocation_type,
                payload,
                caller,
            })
            .await
        }
        (None, _) => Reply::service_error(
            404,
            "UnknownOperationException",
            "not a Lambda Invoke API path",
        ),
        (_, None) => Reply::service_error(
            400,
            "InvalidParameterValueException",
            "unknown invocation type",
        ),
    };
    respond(reply)
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(reply.status)
        .header("Content-Type", "application/json");
    if let Some(error_type) = &reply.error_type {
        response = response.header("X-Amzn-ErrorType", error_type);
    }
    if let Some(function_error) = &reply.function_error {
        response = response.header("X-Amz-Function-Error", function_error);
    }
    response
        .body(Full::new(reply.body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A listener whose first accepts fail as they do when the process is out
    /// of file descriptors (EMFILE), the connection still waiting in the backlog.
    struct OutOfFiles {
        listener: TcpListener,
        failures_left: AtomicUsize,
    }

    impl Accept for Arc<OutOfFiles> {
        async fn accept_stream(&self) -> std::io::Result<TcpStream> {
            let fail = self
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fail {
                return Err(std::io::Error::from_raw_os_error(24));
            }
            self.listener.accept_stream().await
        }
    }

    #[tokio::test]
    async fn the_server_goes_on_serving_after_accepts_fail() {
        // GIVEN a server whose first three accepts fail with "too many open files"
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let flaky = Arc::new(OutOfFiles {
            listener,
            failures_left: AtomicUsize::new(3),
        });
        let server = tokio::spawn(serve(flaky.clone(), |_request| async {
            Response::new(Full::new(Bytes::from_static(b"still here")))
        }));

        // WHEN a client sends a request
        let mut client = TcpStream::connect(address).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_string(&mut answer))
            .await
            .expect("answered within 10 s")
            .unwrap();

        // THEN it is answered, after the failed accepts
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("still here"), "{answer}");
        server.abort();
    }

    #[test]
    fn function_names_in_paths_are_percent_decoded() {
        assert_eq!(percent_decode("arn%3Aaws%3Alambda"), "arn:aws:lambda");
        assert_eq!(percent_decode("plain-name"), "plain-name");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }
}
