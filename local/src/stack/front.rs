//! The front of the local stack's Lambda: the one Invoke API endpoint that the
//! functions (start's asynchronous invocations) and the contact simulator talk
//! to. It holds each function to its role (start's asynchronous invocations to
//! `lambda:InvokeFunction` on the function it names). It refuses the
//! invocations of the contacts a fault plan names (their integration requests,
//! or one function's calls for a contact the simulator named), as a throttled
//! Lambda does, and passes the rest to what runs the functions:
//!
//! - the process pools ([`Functions`]), which queue `Event` invocations and
//!   throttle synchronous ones at the concurrency limit, as Lambda does;
//! - `cargo lambda watch`, which answers an `Event` invocation only once the
//!   function has finished: the front answers it with 202 at once and runs it
//!   in the background instead. Lambda retries a failed asynchronous
//!   invocation twice, minutes apart; the front does not (the demo would be
//!   over by then): it logs the failure.

use std::sync::Arc;

use aws_sdk_lambda::{primitives::Blob, types::InvocationType as SdkInvocationType};
use tracing::warn;

use kit::{
    iam::{needs, usage::Usage, Policies},
    lambda::{
        invoke_api::{Endpoint, Handler, Invocation, InvocationType, Reply},
        Functions,
    },
};

use super::faults::{Refusals, StartDeaths};

/// What runs the functions behind the front.
#[derive(Clone)]
pub enum Backend {
    /// The process pools of the local stack.
    Pools(Arc<Functions>),
    /// `cargo lambda watch`, through a Lambda client for its endpoint.
    Watch(aws_sdk_lambda::Client),
}

/// Serves the front on `listener`, passing invocations on to `backend`, but for
/// those a function's role may not make, which it refuses as Lambda does
/// (`AccessDeniedException`), and those of the contacts `refusals` refuses,
/// which it answers as a throttled Lambda does.
pub fn start(
    listener: tokio::net::TcpListener,
    backend: Backend,
    refusals: Refusals,
    deaths: StartDeaths,
    policies: Arc<Policies>,
) -> std::io::Result<Endpoint> {
    let usage = Arc::new(Usage::from_env());
    let handler: Handler = Arc::new(move |invocation: Invocation| {
        let (backend, refusals, deaths) = (backend.clone(), refusals.clone(), deaths.clone());
        let (policies, usage) = (policies.clone(), usage.clone());
        Box::pin(async move {
            if let Some(role) = invocation.caller {
                let need = needs::invoke(&invocation.function);
                if let Err(denied) = policies.allow(role, &[need], &usage) {
                    let why = denied.to_string();
                    return Reply::service_error(403, "AccessDeniedException", &why);
                }
            }
            let event = serde_json::from_slice::<serde_json::Value>(&invocation.payload).ok();
            let field = |pointer: &str| {
                event
                    .as_ref()
                    .and_then(|e| e.pointer(pointer))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            // An integration request names its contact at the top; Connect's
            // event, in its contact data.
            let request = field("/ContactId");
            let contact = request
                .clone()
                .or_else(|| field("/Details/ContactData/InitialContactId"));
            let refused = request.as_ref().is_some_and(|c| refusals.refuses(c))
                || contact
                    .as_ref()
                    .is_some_and(|c| refusals.refuses_call(&invocation.function, c));
            if refused {
                return Reply::service_error(429, "TooManyRequestsException", "Rate Exceeded.");
            }
            if let Some(contact) = &request {
                deaths.invoked(contact);
            }
            let starting = invocation.function == START && invocation.caller.is_none();
            let reply = match (backend, invocation.invocation_type) {
                (Backend::Pools(functions), _) => functions.invoke(invocation).await,
                (Backend::Watch(watch), InvocationType::Event) => {
                    tokio::spawn(async move {
                        let function = invocation.function.clone();
                        let reply = forward(&watch, invocation).await;
                        if reply.status != 200 || reply.function_error.is_some() {
                            warn!(%function, status = reply.status, "asynchronous invocation failed");
                        }
                    });
                    Reply::accepted()
                }
                (Backend::Watch(_), InvocationType::DryRun) => Reply::new(204, ""),
                (Backend::Watch(watch), InvocationType::RequestResponse) => {
                    forward(&watch, invocation).await
                }
            };
            let answered = reply.status == 200 && reply.function_error.is_none();
            match contact {
                Some(contact) if starting && deaths.after_start(&contact, answered) => died(),
                _ => reply,
            }
        })
    });
    Endpoint::on(listener, handler)
}

/// start's function name on the local stack.
const START: &str = "integration-start";

/// What Lambda answers for an instance that died during the invocation.
fn died() -> Reply {
    let body = serde_json::json!({
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: local Error: Runtime exited with error: signal: killed",
    });
    Reply {
        function_error: Some("Unhandled".into()),
        ..Reply::new(200, body.to_string())
    }
}

/// Invokes the function synchronously on `cargo lambda watch` and answers as it did.
async fn forward(backend: &aws_sdk_lambda::Client, invocation: Invocation) -> Reply {
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
