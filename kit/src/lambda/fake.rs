//! A stand-in for Lambda behind a real Lambda Invoke API endpoint (the
//! [`super::invoke_api`] server), so start's invoke path is tested through
//! aws-sdk-lambda and HTTP. It records every invocation and either answers
//! `Event` invocations with 202 at once, as Lambda does, handing each to a
//! callback that plays the integration function, or refuses every invocation
//! with a Lambda error.

use std::sync::{Arc, Mutex};

use super::invoke_api::{Endpoint, Handler, InvocationType, Reply};
use serde_json::Value;

/// One invocation as the endpoint received it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The function name from the path, percent-decoded.
    pub function: String,
    /// `X-Amz-Invocation-Type` as sent (`RequestResponse` when absent).
    pub invocation_type: InvocationType,
    pub payload: Value,
}

pub struct FakeLambda {
    endpoint: Endpoint,
    invocations: Arc<Mutex<Vec<Invocation>>>,
}

impl FakeLambda {
    /// Accepts every `Event` invocation with 202 and calls `on_event` with it.
    pub async fn accepting(on_event: impl Fn(Invocation) + Send + Sync + 'static) -> Self {
        Self::serve(move |invocation| match invocation.invocation_type {
            InvocationType::Event => {
                on_event(invocation.clone());
                Reply::accepted()
            }
            _ => Reply::service_error(400, "InvalidRequestContentException", "only Event here"),
        })
        .await
    }

    /// Refuses every invocation with `status` and Lambda's `X-Amzn-ErrorType`.
    pub async fn refusing(status: u16, error_type: &'static str) -> Self {
        Self::serve(move |_| {
            Reply::service_error(
                status,
                error_type,
                &format!("{error_type} from the test endpoint"),
            )
        })
        .await
    }

    async fn serve(answer: impl Fn(&Invocation) -> Reply + Send + Sync + 'static) -> Self {
        let invocations = Arc::new(Mutex::new(Vec::new()));
        let seen = invocations.clone();
        let answer = Arc::new(answer);
        let handler: Handler = Arc::new(move |received| {
            let invocation = Invocation {
                function: received.function,
                invocation_type: received.invocation_type,
                payload: serde_json::from_slice(&received.payload).unwrap_or(Value::Null),
            };
            seen.lock().expect("not poisoned").push(invocation.clone());
            let reply = answer(&invocation);
            Box::pin(async move { reply })
        });
        let endpoint = Endpoint::start(0, handler).await.expect("bind 127.0.0.1");
        Self {
            endpoint,
            invocations,
        }
    }

    /// The endpoint's URL, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn url(&self) -> String {
        self.endpoint.url()
    }

    /// A Lambda client for this endpoint, with short timeouts.
    pub fn client(&self) -> aws_sdk_lambda::Client {
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint.url())
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

/// Plays the real echo function for each invocation, as Lambda would run it.
pub fn real_echo(store: shared::Store) -> impl Fn(Invocation) + Send + Sync {
    move |invocation| {
        // A failure is a failed invocation, as on Lambda: the test sees it in the state.
        run_echo(store.clone(), invocation.payload, || {});
    }
}

/// Runs the real echo function on `payload` on a thread of its own (the
/// framework's future is not `Send`), as a Lambda instance of its own would,
/// then calls `finished`.
///
/// The echo gets a client of its own: connections it opened on its runtime
/// die with that runtime, and a client shared with the test would hand the
/// test one of them next (hyper's "runtime dropped the dispatch task").
pub fn run_echo(
    store: shared::Store,
    payload: serde_json::Value,
    finished: impl FnOnce() + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let own_client = aws_sdk_dynamodb::Client::from_conf(store.client_config().clone());
    let store = store.with_client(own_client);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let deps = shared::integration::Deps::new(store, shared::integration::Settings::default());
        let event = lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default());
        let _ = runtime.block_on(shared::integration::handle(
            event,
            &deps,
            integration_echo::echo,
        ));
        finished();
    })
}
