//! One Lambda call as Connect makes it through the local stack's front, and
//! the local function behind a flow's function ARN.

use aws_sdk_lambda::{
    config::http::HttpResponse, error::SdkError, operation::invoke::InvokeError, primitives::Blob,
};
use serde_json::Value;

use crate::connect::flow::retry::Failure;

type Payload = Vec<u8>;

/// One attempt: invokes `function` synchronously through the front; the
/// answer's payload, or why the attempt failed. The flow reads the payload
/// (`flow::answer`); Connect's retries and time limit are `retry::invoke`'s.
pub(super) async fn send(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    event: Value,
) -> Result<Payload, Failure> {
    let output = lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .map_err(refused)?;
    match output.function_error {
        Some(kind) => Err(Failure::Function(kind)),
        None => Ok(output.payload.map(Blob::into_inner).unwrap_or_default()),
    }
}

/// An Invoke API call that did not invoke: refused with an HTTP status (429
/// when throttled, 5xx on a service failure), or not answered at all.
fn refused(err: SdkError<InvokeError, HttpResponse>) -> Failure {
    let status = err.raw_response().map(|r| r.status().as_u16());
    let message = shared::telemetry::error_chain(&aws_sdk_lambda::Error::from(err));
    match status {
        Some(status) => Failure::Refused { status, message },
        None => Failure::Unreachable(message),
    }
}

/// The local function behind a flow's function ARN: the flow names the deployed
/// functions (`<stage>-<service>-connectintegrationstart`, ...) or holds
/// placeholders for them (`{{StartFunctionArn}}`); the local stack serves the
/// workspace's binaries by crate name. A reference the flow could not resolve
/// (`$.…`) is the rule's own function, `integration`.
pub fn local_function(function_arn: &str, integration: &str) -> String {
    if function_arn.starts_with("$.") {
        return integration.into();
    }
    let name = function_arn
        .rsplit([':', '/'])
        .next()
        .unwrap_or(function_arn);
    let lower = name.to_ascii_lowercase();
    if lower.contains("checktimeout") || lower.contains("check-timeout") {
        "check-timeout".into()
    } else if ["integrationstart", "integration-start", "startfunction"]
        .iter()
        .any(|n| lower.contains(n))
    {
        "integration-start".into()
    } else {
        name.to_owned()
    }
}
