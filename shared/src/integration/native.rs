//! Native async mode: the function invoked directly by Connect's "Invoke AWS
//! Lambda function" block (asynchronous execution), with a contact flow event.
//!
//! No start function ran, so the run is opened here, then worked and finished as
//! for an integration request, and the answer is the flat string map Connect
//! expects. Where things come from, block parameters first, then the rule's state:
//!
//! | what | block parameter | else, state key | else |
//! | --- | --- | --- | --- |
//! | payload | `Payload` | `CurrentRule_functionPayload` (JSON as text) | empty |
//! | output key | `OutputKey` | `CurrentRule_functionOutputKey` | the run fails |
//! | timeout | `Timeout` (seconds) | `CurrentRule_functionTimeout` | [`Settings::default_timeout`] |
//!
//! Every failure is an answer with `IntegrationStatus` `ERROR` and a cause, never a
//! bare Lambda error: the flow routes on it like on any failed integration.
//!
//! The run's deadline bounds the work: nothing else times a native run out
//! while the caller waits (the consumer's sweep comes a grace period later), so
//! at the deadline the work is dropped and the run becomes `TIMEOUT` through
//! the same conditional transition check-timeout uses, which a `DONE` that
//! landed first refuses. The caller then hears the rule's timeout, as in the
//! polling flow.
//!
//! [`Settings::default_timeout`]: super::Settings::default_timeout

use lambda_runtime::Context;
use serde_json::Value;
use tracing::Instrument;

use super::{
    run::{describe, perform, span, Ended, Job},
    settings::parse_timeout,
    Cause, Deps, IntegrationContext, Mode, OUTPUT_KEY, PAYLOAD, TIMEOUT,
};
use crate::{
    connect::{Answer, ContactFlowEvent},
    ContactId, ContactState, Run, RunStart, Store, StoreError, Transition,
};

/// Serves a contact flow event and answers Connect.
pub(crate) async fn serve<W>(
    event: ContactFlowEvent,
    context: &Context,
    deps: &Deps,
    work: W,
) -> Value
where
    W: AsyncFn(&IntegrationContext, &str) -> Result<String, Cause>,
{
    let span = span(&event.contact_id, Mode::Native);
    match run(event, context, deps, work).instrument(span).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::error!(error = %Cause::from_error(&err), "native run failed on DynamoDB");
            Answer::error("the contact's state could not be read or written").into_value()
        }
    }
}

async fn run<W>(
    event: ContactFlowEvent,
    context: &Context,
    deps: &Deps,
    work: W,
) -> Result<Value, StoreError>
where
    W: AsyncFn(&IntegrationContext, &str) -> Result<String, Cause>,
{
    let store = &deps.store;
    let contact = event.contact_id.clone();
    let state = store.load_state(&contact).await?;
    let from = |parameter: &str, key: &str| -> Option<Value> {
        event
            .parameters
            .get(parameter)
            .filter(|value| !value.is_null())
            .or_else(|| state.get(key))
            .cloned()
    };
    let timeout = from("Timeout", TIMEOUT)
        .as_ref()
        .and_then(parse_timeout)
        .unwrap_or(deps.settings.default_timeout);
    let payload = match from("Payload", PAYLOAD) {
        None => String::new(),
        Some(Value::String(text)) => text,
        // A JSON payload is stored parsed; the work always gets text.
        Some(json) => json.to_string(),
    };
    let output_key = from("OutputKey", OUTPUT_KEY).and_then(|key| key.as_str().map(str::to_owned));
    let function_name = deps
        .settings
        .function_name
        .as_deref()
        .or(Some(context.env_config.function_name.as_str()).filter(|name| !name.is_empty()))
        .unwrap_or("integration")
        .to_owned();

    let run = store
        .start(
            &contact,
            RunStart {
                function_name: function_name.clone(),
                timeout,
            },
        )
        .await?;
    tracing::Span::current().record("run_id", tracing::field::display(&run.id));
    let job = Job {
        contact_id: contact.clone(),
        run_id: Some(run.id.clone()),
        mode: Mode::Native,
        state,
        payload,
        output_key,
        original_request: event.raw,
        function_name,
        started_at: Some(run.started_at),
        deadline: Some(run.deadline),
    };
    by_deadline(store, &contact, &run, perform(job, deps, work)).await?;
    let after: ContactState = store.load_state(&contact).await?;
    let answer = Answer::from_state(&after);
    if !answer.left_out().is_empty() {
        tracing::warn!(
            left_out = ?answer.left_out(),
            "keys left out of the answer for Connect's 32 KB limit"
        );
    }
    Ok(answer.into_value())
}

/// Runs the work (`performed`) until the run's deadline; past it, the run is
/// `TIMEOUT`, unless it finished (or was replaced) first, in which case the
/// answer shows that.
async fn by_deadline(
    store: &Store,
    contact: &ContactId,
    run: &Run,
    performed: impl std::future::Future<Output = Result<Ended, StoreError>>,
) -> Result<(), StoreError> {
    let remaining = (run.deadline - store.clock().now())
        .to_std()
        .unwrap_or_default();
    let refusal = match tokio::time::timeout(remaining, performed).await {
        Ok(ended) => match ended? {
            Ended::Refused(refusal) => refusal,
            _ => return Ok(()),
        },
        Err(_) => match store.timeout(contact, Some(&run.id)).await? {
            Transition::Applied => {
                tracing::info!("run timed out at its deadline");
                return Ok(());
            }
            Transition::Refused(refusal) => refusal,
        },
    };
    // Another run took the contact over, or this one ended first: the answer
    // shows the state as it now is.
    tracing::info!(refusal = %describe(&refusal), "answering with the contact's current state");
    Ok(())
}
