//! A Lambda Invoke API endpoint on 127.0.0.1 (`POST
//! /2015-03-31/functions/{name}/invocations`), so the invoke path of start is
//! tested for real, through aws-sdk-lambda and HTTP. It records every
//! invocation, answers `Event` invocations with 202 at once, as Lambda does, and
//! hands each to a callback that plays the integration function; or it refuses
//! every invocation with a Lambda error.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// One invocation as the endpoint received it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The function name from the path, percent-decoded.
    pub function: String,
    /// `X-Amz-Invocation-Type` (`RequestResponse` when absent, as Lambda reads it).
    pub invocation_type: String,
    pub payload: Value,
}

type OnEvent = Arc<dyn Fn(Invocation) + Send + Sync>;

enum Behaviour {
    Accept(OnEvent),
    Refuse {
        status: u16,
        error_type: &'static str,
    },
}

pub struct FakeLambda {
    pub url: String,
    invocations: Arc<Mutex<Vec<Invocation>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeLambda {
    /// Accepts every `Event` invocation with 202 and calls `on_event` with it.
    pub async fn accepting(on_event: impl Fn(Invocation) + Send + Sync + 'static) -> Self {
        Self::serve(Behaviour::Accept(Arc::new(on_event))).await
    }

    /// Refuses every invocation with `status` and Lambda's `X-Amzn-ErrorType`.
    pub async fn refusing(status: u16, error_type: &'static str) -> Self {
        Self::serve(Behaviour::Refuse { status, error_type }).await
    }

    async fn serve(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let invocations = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(behaviour);
        let seen = invocations.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (behaviour, seen) = (behaviour.clone(), seen.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let (behaviour, seen) = (behaviour.clone(), seen.clone());
                        async move { Ok::<_, Infallible>(answer(request, &behaviour, &seen).await) }
                    });
                    // A connection the client drops mid-way is no concern of the test.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            invocations,
            server,
        }
    }

    /// A Lambda client for this endpoint, with short timeouts.
    pub fn client(&self) -> aws_sdk_lambda::Client {
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_sdk_lambda::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "local", "local", None, None, "tests",
            ))
            .timeout_config(
                aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_millis(300))
                    .operation_timeout(std::time::Duration::from_secs(1))
                    .build(),
            )
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.invocations.lock().expect("not poisoned").clone()
    }
}

impl Drop for FakeLambda {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    request: Request<hyper::body::Incoming>,
    behaviour: &Behaviour,
    seen: &Mutex<Vec<Invocation>>,
) -> Response<Full<Bytes>> {
    let function = request
        .uri()
        .path()
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(percent_decode);
    let invocation_type = request
        .headers()
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let Some(function) = function else {
        return respond(404, Some("UnknownOperationException"), "{}");
    };
    let invocation = Invocation {
        function,
        invocation_type,
        payload: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    seen.lock().expect("not poisoned").push(invocation.clone());
    match behaviour {
        Behaviour::Refuse { status, error_type } => respond(
            *status,
            Some(error_type),
            &format!(r#"{{"Type":"User","message":"{error_type} from the test endpoint"}}"#),
        ),
        Behaviour::Accept(on_event) if invocation.invocation_type == "Event" => {
            on_event(invocation);
            respond(202, None, "")
        }
        Behaviour::Accept(_) => respond(400, Some("InvalidRequestContentException"), "{}"),
    }
}

fn respond(status: u16, error_type: Option<&str>, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    if let Some(error_type) = error_type {
        response = response.header("X-Amzn-ErrorType", error_type);
    }
    response
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid response")
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
