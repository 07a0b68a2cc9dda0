//! The front of the local stack's Lambda: `cargo lambda watch` serves the Invoke
//! API for every binary of the workspace, but answers an `Event` invocation only
//! once the function has finished, which is not what Lambda does. The front
//! answers `Event` invocations with 202 at once and runs them in the background,
//! as Lambda does; other invocations it passes through.
//!
//! Lambda retries a failed asynchronous invocation twice, minutes apart; the
//! front does not (the demo would be over by then): it logs the failure.

use std::sync::Arc;

use aws_sdk_lambda::{primitives::Blob, types::InvocationType as SdkInvocationType};
use tracing::warn;

use crate::faults::Refusals;
use crate::invoke_api::{Endpoint, Handler, Invocation, InvocationType, Reply};

/// Starts the front on 127.0.0.1 (port 0: a free one), passing invocations on to
/// `backend` (a Lambda client for `cargo lambda watch`), but for those of the
/// contacts `refusals` refuses, which it answers as a throttled Lambda does.
pub async fn start(
    port: u16,
    backend: aws_sdk_lambda::Client,
    refusals: Refusals,
) -> std::io::Result<Endpoint> {
    let handler: Handler = Arc::new(move |invocation: Invocation| {
        let (backend, refusals) = (backend.clone(), refusals.clone());
        Box::pin(async move {
            let contact = serde_json::from_slice::<serde_json::Value>(&invocation.payload)
                .ok()
                .and_then(|event| event["ContactId"].as_str().map(str::to_owned));
            if contact.is_some_and(|contact| refusals.refuses(&contact)) {
                return Reply::service_error(429, "TooManyRequestsException", "Rate Exceeded.");
            }
            match invocation.invocation_type {
                InvocationType::Event => {
                    tokio::spawn(async move {
                        let function = invocation.function.clone();
                        let reply = forward(&backend, invocation).await;
                        if reply.status != 200 || reply.function_error.is_some() {
                            warn!(%function, status = reply.status, "asynchronous invocation failed");
                        }
                    });
                    Reply::accepted()
                }
                InvocationType::DryRun => Reply::new(204, ""),
                InvocationType::RequestResponse => forward(&backend, invocation).await,
            }
        })
    });
    Endpoint::start(port, handler).await
}

/// Invokes the function synchronously on the backend and answers as it did.
pub async fn forward(backend: &aws_sdk_lambda::Client, invocation: Invocation) -> Reply {
    let sent = backend
        .invoke()
        .function_name(&invocation.function)
        .invocation_type(SdkInvocationType::RequestResponse)
        .payload(Blob::new(invocation.payload.to_vec()))
        .send()
        .await;
    match sent {
        Ok(output) => Reply {
            status: u16::try_from(output.status_code).unwrap_or(200),
            error_type: None,
            function_error: output.function_error,
            body: output
                .payload
                .map(Blob::into_inner)
                .unwrap_or_default()
                .into(),
        },
        Err(err) => {
            let err = aws_sdk_lambda::Error::from(err);
            Reply::service_error(
                502,
                "ServiceException",
                &shared::telemetry::error_chain(&err),
            )
        }
    }
}
