//! integration-start: the first call of Connect's integration flow.
//!
//! It opens a run for the contact's current integration rule, invokes the rule's
//! function asynchronously with `{"ContactId", "RunId", "Payload",
//! "OriginalRequest"}`, and waits for the run to finish, reading only the
//! status item: up to the wait budget when Connect calls it synchronously, or,
//! called asynchronously with `Wait: UntilEnd`, until the run ends or its
//! deadline passes ([`wait`]). Then it reads the whole state once and answers
//! Connect with the flat map of strings it accepts.
//!
//! Whatever goes wrong, Connect gets an answer it can route on, in time: a
//! problem becomes `IntegrationStatus: ERROR` with a cause, recorded in the
//! state too when the contact is known, so later rules see it.

pub mod allow;
mod config;
pub mod wait;

use std::time::Duration;

use aws_sdk_lambda::{primitives::Blob, types::InvocationType};
use serde_json::{json, Value};
use shared::{
    connect::{Answer, ConnectRequest, ContactFlowEvent, Instance},
    telemetry::error_chain,
    waiting::{answer_from_state, store_failure, WaitConfig},
    ContactId, ContactState, Run, RunId, RunStart, Store, StoreError,
};
use tracing::{info, warn, Instrument};

pub use allow::{AllowList, FunctionRef};
pub use config::StartConfig;
use wait::Ours;
pub use wait::WaitMode;

/// The state key the Rules Engine sets to the integration rule's function.
pub const FUNCTION_ARN: &str = "CurrentRule_functionArn";

/// The function name recorded for a run whose function could not be invoked at
/// all: a refused name is not echoed into metrics, where it would be a dimension.
const NO_FUNCTION: &str = "(none)";
const REFUSED_FUNCTION: &str = "(not allowed)";

/// What the handler needs, built once per instance.
pub struct Deps {
    pub store: Store,
    pub lambda: aws_sdk_lambda::Client,
    pub config: StartConfig,
    pub instance: Instance,
}

/// Handles one invocation. Always answers: a problem is an `ERROR` answer, never
/// a Lambda error. `own_arn` is this function's ARN (the Lambda context's), to
/// keep invocations within its own account and region.
pub async fn handle(event: Value, own_arn: Option<&str>, deps: &Deps) -> Value {
    let request = match ConnectRequest::from_value(event) {
        Ok(ConnectRequest::KeepWarm(ping)) => return ping.reply(&deps.instance),
        Ok(ConnectRequest::Contact(event)) => event,
        Err(err) => {
            warn!(error = %err, "not a Connect event");
            return Answer::error(&err.to_string()).into_value();
        }
    };
    let own = own_arn.and_then(|arn| FunctionRef::parse(arn).ok());
    let span = tracing::info_span!("start", contact_id = %request.contact_id, run_id = tracing::field::Empty);
    let mode = WaitMode::of(&request);
    let limit = (mode.as_ref().copied())
        .unwrap_or(WaitMode::Budget)
        .answer_limit(&deps.config.wait);
    // Boxed: the SDK calls make this future deep, and it is built once per call.
    let started = Box::pin(start(&request, mode, own.as_ref(), deps).instrument(span));
    let answer = match tokio::time::timeout(limit, started).await {
        Ok(answer) => answer,
        Err(_) => {
            warn!(contact_id = %request.contact_id, "no answer within the time limit");
            Answer::error("The integration could not be started in time")
        }
    };
    answer.into_value()
}

async fn start(
    event: &ContactFlowEvent,
    mode: Result<WaitMode, String>,
    own: Option<&FunctionRef>,
    deps: &Deps,
) -> Answer {
    let store = &deps.store;
    let contact = &event.contact_id;
    let until = store.clock().now() + deps.config.wait.budget;
    let mode = match mode {
        Ok(mode) => mode,
        // A flow that asks for a wait start does not know: recorded, so the
        // next rules do not read the previous rule's status.
        Err(why) => {
            warn!("{why}");
            return fail_without_invoke(store, contact, NO_FUNCTION, &why, &deps.config.wait).await;
        }
    };
    let state = match store.load_state(contact).await {
        Ok(state) => state,
        Err(err) => return store_failure(&err),
    };
    let (target, function) = match rule_function(&state, own, deps) {
        Ok(chosen) => chosen,
        Err((name, cause)) => {
            return fail_without_invoke(store, contact, name, &cause, &deps.config.wait).await
        }
    };
    let timeout = deps.config.wait.run_timeout(&state);
    if let Some(opened) = state.activation_run() {
        return answer_the_retry(store, contact, opened, until, mode, timeout, deps).await;
    }
    let activation = state.get_str(shared::keys::RULE_START);
    let run = match open_run(store, contact, &function.name, timeout, activation).await {
        Ok(Opened::Run(run)) => run,
        Ok(Opened::Taken) => {
            // Another start of this activation marked it first (Connect's retry
            // while this one still ran), or the activation changed meanwhile.
            return match store.load_state(contact).await {
                Ok(now) => match now.activation_run() {
                    Some(opened) => {
                        answer_the_retry(store, contact, opened, until, mode, timeout, deps).await
                    }
                    None => Answer::error(
                        "The rule's activation changed while its run was being opened",
                    ),
                },
                Err(err) => store_failure(&err),
            };
        }
        Err(answer) => return answer,
    };
    tracing::Span::current().record("run_id", tracing::field::display(&run.id));
    info!(function = %function.name, timeout_ms = timeout.as_millis() as u64, "run started");

    if let Err(cause) = invoke(deps, target, &run, event, &state).await {
        warn!(function = %function.name, cause = %cause, "invoke failed");
        return match store.error(contact, Some(&run.id), &cause, &[]).await {
            Ok(_) => answer_from_state(store, contact).await,
            Err(err) => {
                store_failure(&err);
                Answer::error(&cause)
            }
        };
    }
    let ours = Ours {
        run: &run.id,
        deadline: run.deadline,
    };
    wait::wait_and_answer(store, contact, until, mode, ours, &deps.config.wait).await
}

/// Connect retried start (an error or a time-out of an earlier call, which
/// may have died after its invoke, or before it: at most once, see
/// docs/design.md): this rule activation has its run, `opened`. Answer from
/// that run, invoking nothing. Waiting until the end, it is due at the
/// deadline the status item gives it, or (when a legacy writer's put has
/// taken the item's run attributes) the rule's `timeout` from now, which is
/// no sooner.
async fn answer_the_retry(
    store: &Store,
    contact: &ContactId,
    opened: &RunId,
    until: chrono::DateTime<chrono::Utc>,
    mode: WaitMode,
    timeout: Duration,
    deps: &Deps,
) -> Answer {
    tracing::Span::current().record("run_id", tracing::field::display(opened));
    info!("START_RETRIED");
    // The status item's own deadline for the run, when the wait reads it.
    let ours = Ours {
        run: opened,
        deadline: store.clock().now() + timeout,
    };
    wait::wait_and_answer(store, contact, until, mode, ours, &deps.config.wait).await
}

/// The rule's function as it names it, and as the allow-list lets it be
/// invoked; or the name to record the failure under, and its cause.
fn rule_function<'s>(
    state: &'s ContactState,
    own: Option<&FunctionRef>,
    deps: &Deps,
) -> Result<(&'s str, FunctionRef), (&'static str, String)> {
    let Some(target) = state.get_str(FUNCTION_ARN) else {
        let cause = format!("The rule names no integration function ({FUNCTION_ARN} is not set)");
        return Err((NO_FUNCTION, cause));
    };
    match deps.config.allow.check(target, own) {
        Ok(function) => Ok((target, function)),
        Err(refused) => {
            warn!(reason = %refused, "refused to invoke the rule's function");
            Err((
                REFUSED_FUNCTION,
                format!("Integration function refused: {refused}"),
            ))
        }
    }
}

/// What opening a run for a rule activation came to.
enum Opened {
    Run(Run),
    /// The activation's mark was refused: nothing was written.
    Taken,
}

/// Opens the run; when that fails, the answer to give.
async fn open_run(
    store: &Store,
    contact: &ContactId,
    function_name: &str,
    timeout: Duration,
    activation: Option<&str>,
) -> Result<Opened, Answer> {
    let run_id = RunId::new();
    let start = RunStart {
        function_name: function_name.to_owned(),
        timeout,
    };
    match store
        .start_as(contact, run_id.clone(), start, activation)
        .await
    {
        Ok(run) => Ok(Opened::Run(run)),
        Err(StoreError::ActivationTaken { .. }) => Ok(Opened::Taken),
        Err(err) => {
            // The write may have landed all the same (a timeout says nothing of
            // that): end the run by its id, so it is not left open with no
            // function invoked. Refused when it did not land, which is as good.
            let answer = store_failure(&err);
            let cause = "The state table could not be reached";
            if let Err(again) = store.error(contact, Some(&run_id), cause, &[]).await {
                warn!(error = %error_chain(&again), "could not end the run whose start failed");
            }
            Err(answer)
        }
    }
}

/// Records a run that failed before any function was invoked, so later rules
/// see `ERROR` rather than the previous run's status, and answers with it.
async fn fail_without_invoke(
    store: &Store,
    contact: &ContactId,
    function_name: &str,
    cause: &str,
    wait: &WaitConfig,
) -> Answer {
    let start = RunStart {
        function_name: function_name.to_owned(),
        timeout: wait.default_timeout,
    };
    let recorded = match store.start(contact, start).await {
        Ok(run) => store
            .error(contact, Some(&run.id), cause, &[])
            .await
            .map(drop),
        Err(err) => Err(err),
    };
    match recorded {
        Ok(()) => answer_from_state(store, contact).await,
        Err(err) => {
            store_failure(&err);
            Answer::error(cause)
        }
    }
}

/// Invokes the rule's function with `InvocationType=Event`. `Err` is the cause
/// to record: Lambda's own error text, which never holds the payload.
async fn invoke(
    deps: &Deps,
    target: &str,
    run: &Run,
    event: &ContactFlowEvent,
    state: &ContactState,
) -> Result<(), String> {
    let request = integration_request(run, event, state);
    let sent = deps
        .lambda
        .invoke()
        .function_name(target)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(request.to_string()))
        .send()
        .await;
    match sent {
        Ok(output) if output.status_code == 202 => Ok(()),
        Ok(output) => Err(format!(
            "Integration function {} was not queued (status {})",
            run.function_name, output.status_code
        )),
        Err(err) => Err(format!(
            "Integration function {} could not be invoked: {}",
            run.function_name,
            error_chain(&aws_sdk_lambda::Error::from(err))
        )),
    }
}

/// `{"ContactId", "RunId", "Payload", "OriginalRequest"}`. `Payload` is always a
/// string: a JSON payload is passed on as JSON text, an absent one as `""`.
pub fn integration_request(run: &Run, event: &ContactFlowEvent, state: &ContactState) -> Value {
    let payload = match state.get(shared::integration::PAYLOAD) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(json) => json.to_string(),
    };
    json!({
        "ContactId": run.contact_id.as_str(),
        "RunId": run.id.as_str(),
        "Payload": payload,
        "OriginalRequest": event.raw.to_string(),
    })
}
