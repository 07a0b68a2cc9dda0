//! Where the poller delivers events: the consumer in-process (tests, replays,
//! benchmarks) or a Lambda function through the Invoke API (the local stack,
//! where `AWS_ENDPOINT_URL_LAMBDA` points the SDK at `cargo lambda watch`).

use std::{future::Future, sync::Arc};

use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;
use stream_consumer::Consumer;

/// Why an invocation gave no answer to read.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("invoking the consumer failed")]
    Invoke(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the consumer failed: {0}")]
    Function(String),
}

/// A consumer the poller can invoke with an event, getting its answer back.
pub trait ConsumerTarget: Send + Sync {
    fn invoke(&self, event: Value) -> impl Future<Output = Result<Value, TargetError>> + Send;
}

/// The consumer in this process.
#[derive(Clone)]
pub struct InProcess(pub Arc<Consumer>);

impl ConsumerTarget for InProcess {
    async fn invoke(&self, event: Value) -> Result<Value, TargetError> {
        self.0
            .handle(event)
            .await
            .map_err(|err| TargetError::Function(err.to_string()))
    }
}

/// A Lambda function, invoked synchronously as an event source mapping does.
#[derive(Clone)]
pub struct LambdaFunction {
    pub client: aws_sdk_lambda::Client,
    pub function_name: String,
}

impl ConsumerTarget for LambdaFunction {
    async fn invoke(&self, event: Value) -> Result<Value, TargetError> {
        let output = self
            .client
            .invoke()
            .function_name(&self.function_name)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .map_err(|err| TargetError::Invoke(Box::new(aws_sdk_lambda::Error::from(err))))?;
        let payload = output.payload().map(|p| p.as_ref()).unwrap_or(b"null");
        if let Some(kind) = output.function_error() {
            return Err(TargetError::Function(format!(
                "{kind}: {}",
                String::from_utf8_lossy(payload)
            )));
        }
        serde_json::from_slice(payload).map_err(|err| TargetError::Invoke(Box::new(err)))
    }
}
