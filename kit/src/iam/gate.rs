//! The gate: an HTTP proxy on 127.0.0.1 in front of DynamoDB Local (its
//! tables and its streams) that checks each request signed with a role's key
//! against the role's policies and refuses what AWS would refuse, with the
//! answer AWS gives: HTTP 400, `AccessDeniedException`, naming the action and
//! the resource. Everything else passes unchanged.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request, Response};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};
use tokio::net::TcpListener;

use super::{caller, needs, usage::Usage, Policies, Role};
use crate::lambda::invoke_api::serve;

/// The gate, while it runs; dropped, it stops.
pub struct Gate {
    pub url: String,
    server: tokio::task::JoinHandle<()>,
    requests: Arc<Mutex<Requests>>,
}

/// The requests the gate let through, by role (its logical id) and
/// operation (`GetItem`, `TransactWriteItems`, ...): what a benchmark prices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requests(pub BTreeMap<(&'static str, String), Count>);

/// Requests of one kind, and the items they named (a transaction's each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub requests: u64,
    pub items: u64,
}

impl Requests {
    /// What was let through since `before` (an earlier snapshot).
    pub fn since(&self, before: &Requests) -> Requests {
        let mut after = self.clone();
        for (key, count) in after.0.iter_mut() {
            let was = before.0.get(key).copied().unwrap_or_default();
            count.requests -= was.requests;
            count.items -= was.items;
        }
        after
    }

    fn count(&mut self, role: Role, target: &str, json: &serde_json::Value) {
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        let items = json["TransactItems"]
            .as_array()
            .map_or(1, |items| items.len() as u64);
        let count = self.0.entry((role.logical_id(), operation)).or_default();
        count.requests += 1;
        count.items += items;
    }
}

impl Gate {
    /// A gate to `upstream` (`http://host:port`, DynamoDB Local) holding the
    /// roles to `policies`, served on the current runtime.
    pub async fn start(upstream: &str, policies: Policies) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let upstream: hyper::Uri = upstream
            .parse()
            .map_err(|err| std::io::Error::other(format!("{upstream}: {err}")))?;
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let requests = Arc::new(Mutex::new(Requests::default()));
        let counted = requests.clone();
        let shared = Arc::new((policies, upstream, client, Usage::from_env()));
        let server = tokio::spawn(serve(listener, move |request| {
            let (shared, counted) = (shared.clone(), counted.clone());
            async move {
                let (policies, upstream, client, usage) = &*shared;
                pass(request, policies, upstream, client, usage, &counted).await
            }
        }));
        Ok(Self {
            url,
            server,
            requests,
        })
    }

    /// What the gate has let through so far.
    pub fn requests(&self) -> Requests {
        self.requests.lock().expect("never poisoned").clone()
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn pass(
    request: Request<hyper::body::Incoming>,
    policies: &Policies,
    upstream: &hyper::Uri,
    client: &Client<HttpConnector, Full<Bytes>>,
    usage: &Usage,
    requests: &Mutex<Requests>,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return answer(400, "SerializationException", "unreadable body");
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(role) = caller(header("authorization")) {
        let target = header("x-amz-target").unwrap_or_default();
        let json = serde_json::from_slice(&body).unwrap_or_default();
        // A request whose needs the gate cannot tell (PartiQL, an unknown
        // shape) is refused: passing it unchecked would let a function past IAM.
        let Some(needs) = needs::dynamodb(target, &json) else {
            tracing::warn!(role = role.logical_id(), %target, "IAM_DENIED");
            let why = format!("the IAM gate cannot tell what {target} needs, so it refuses it");
            return answer(400, ACCESS_DENIED, &why);
        };
        if let Err(denied) = policies.allow(role, &needs, usage) {
            return answer(400, ACCESS_DENIED, &denied.to_string());
        }
        requests
            .lock()
            .expect("never poisoned")
            .count(role, target, &json);
    }
    let mut uri = upstream.clone().into_parts();
    uri.path_and_query = parts.uri.path_and_query().cloned();
    parts.uri = hyper::Uri::from_parts(uri).expect("the upstream's scheme and authority");
    match client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            match body.collect().await {
                Ok(body) => Response::from_parts(parts, Full::new(body.to_bytes())),
                Err(err) => answer(500, "InternalServerError", &err.to_string()),
            }
        }
        Err(err) => answer(503, "ServiceUnavailable", &err.to_string()),
    }
}

const ACCESS_DENIED: &str = "com.amazon.coral.service#AccessDeniedException";

/// An error in DynamoDB's JSON protocol.
fn answer(status: u16, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"__type": kind, "Message": message}).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}
