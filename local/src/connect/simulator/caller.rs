//! The flow's view of one contact: what Connect does for each block, through
//! the local stack's Lambda front, timed.
//!
//! An asynchronous invocation (`InvocationType` `ASYNCHRONOUS`) is, as far as
//! the function can tell, Connect invoking it and waiting up to the block's
//! time limit (up to 60 s) while the flow goes on: the stand-in is a
//! `RequestResponse` invocation through the front on a task of its own, its
//! answer kept by invocation id. The Wait block's Lambda event is that task
//! finishing; *Load Lambda result* is its answer. (An `Event` invocation,
//! which the front answers with 202 and queues, would leave nothing to load.)

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use aws_sdk_lambda::primitives::Blob;
use serde_json::{Map, Value};
use shared::{
    keys::{INTEGRATION_ERROR_CAUSE, INTEGRATION_STATUS},
    ContactId,
};
use tokio::sync::watch;

use kit::connect_event;

use super::{CallStep, Scenario, Simulator, Step, StepKind};
use crate::connect::flow::{Call, Contact, Prompt, Waited};

type Answer = Result<Map<String, Value>, String>;

/// An asynchronous invocation in flight, or finished.
struct Invocation {
    function: String,
    sent_at: Duration,
    limit: Duration,
    /// The answer and how long it took, once it has come.
    done: watch::Receiver<Option<(Answer, Duration)>>,
}

pub(super) struct Caller<'a> {
    sim: &'a Simulator,
    contact: &'a ContactId,
    /// The rule's function, which the native flow invokes.
    integration: &'a str,
    pub(super) began: Instant,
    pub(super) steps: Vec<Step>,
    messages: u32,
    hang_up_at: Option<u32>,
    invocations: HashMap<String, Invocation>,
}

impl<'a> Caller<'a> {
    pub(super) fn new(sim: &'a Simulator, contact: &'a ContactId, scenario: &'a Scenario) -> Self {
        Self {
            sim,
            contact,
            integration: scenario.function,
            began: Instant::now(),
            steps: Vec::new(),
            messages: 0,
            hang_up_at: scenario.hang_up_at_message,
            invocations: HashMap::new(),
        }
    }

    /// Waits for every asynchronous invocation still running, each up to its
    /// time limit, as Connect lets them run after the flow has moved on.
    pub(super) async fn settle(&mut self) {
        for invocation in self.invocations.values_mut() {
            let limit = invocation.limit + Duration::from_secs(1);
            let _ = tokio::time::timeout(limit, invocation.done.wait_for(Option::is_some)).await;
        }
    }

    fn push(&mut self, what: StepKind) {
        self.push_at(self.began.elapsed(), what);
    }

    fn push_at(&mut self, at: Duration, what: StepKind) {
        self.steps.push(Step { at, what });
    }

    /// The Connect event for a call, with the block's parameters.
    fn event(&self, call: &Call<'_>) -> Value {
        let mut event = connect_event(self.contact);
        event["Details"]["Parameters"] = Value::Object(call.parameters.clone());
        event
    }

    /// Records a call's answer, at `at` into the pass.
    fn called(&mut self, at: Duration, call: CallStep, answer: &Answer) {
        let status = answer
            .as_ref()
            .ok()
            .and_then(|a| a.get(INTEGRATION_STATUS))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let from_state = answer.as_ref().is_ok_and(|a| {
            a.keys()
                .any(|k| k != INTEGRATION_STATUS && k != INTEGRATION_ERROR_CAUSE)
        });
        let what = StepKind::Call(CallStep {
            status,
            error: answer.as_ref().err().cloned(),
            from_state,
            ..call
        });
        self.push_at(at, what);
    }
}

impl Contact for Caller<'_> {
    async fn invoke(&mut self, call: Call<'_>) -> Answer {
        let function = local_function(call.function_arn, self.integration);
        let sent_at = self.began.elapsed();
        let sent = Instant::now();
        let answer = send(
            &self.sim.lambda,
            &function,
            self.event(&call),
            call.time_limit,
        )
        .await;
        let step = CallStep {
            function,
            sent_at,
            took: sent.elapsed(),
            limit: call.time_limit,
            asynchronous: false,
            failure: call
                .parameters
                .get("FlowFailure")
                .and_then(Value::as_str)
                .map(str::to_owned),
            status: None,
            error: None,
            from_state: false,
        };
        self.called(sent_at, step, &answer);
        answer
    }

    async fn invoke_async(&mut self, call: Call<'_>) -> Result<String, String> {
        let function = local_function(call.function_arn, self.integration);
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = watch::channel(None);
        let (lambda, event, limit) = (self.sim.lambda.clone(), self.event(&call), call.time_limit);
        let name = function.clone();
        tokio::spawn(async move {
            let sent = Instant::now();
            let answer = send(&lambda, &name, event, limit).await;
            let _ = tx.send(Some((answer, sent.elapsed())));
        });
        self.invocations.insert(
            id.clone(),
            Invocation {
                function: function.clone(),
                sent_at: self.began.elapsed(),
                limit,
                done: rx,
            },
        );
        self.push(StepKind::Invoked {
            function,
            id: id.clone(),
        });
        Ok(id)
    }

    async fn wait_for_lambda(&mut self, id: &str, time: Duration) -> Waited {
        let (at, began) = (self.began.elapsed(), Instant::now());
        // An id Connect does not know waits out its time, as the guide says.
        let returned = match self.invocations.get_mut(id) {
            Some(invocation) => {
                tokio::time::timeout(time, invocation.done.wait_for(Option::is_some))
                    .await
                    .is_ok()
            }
            None => {
                tokio::time::sleep(time).await;
                false
            }
        };
        self.push_at(
            at,
            StepKind::Waited {
                took: began.elapsed(),
                limit: time,
                returned,
            },
        );
        if returned {
            Waited::Returned
        } else {
            Waited::TimedOut
        }
    }

    async fn load_result(&mut self, id: &str) -> Answer {
        let Some(invocation) = self.invocations.get(id) else {
            return Err(format!("no invocation {id}"));
        };
        let done = invocation.done.borrow().clone();
        let (answer, took) = done.unwrap_or_else(|| {
            (
                Err("the invocation has not finished".into()),
                Duration::ZERO,
            )
        });
        let step = CallStep {
            function: invocation.function.clone(),
            sent_at: invocation.sent_at,
            took,
            limit: invocation.limit,
            asynchronous: true,
            failure: None,
            status: None,
            error: None,
            from_state: false,
        };
        self.called(self.began.elapsed(), step, &answer);
        answer
    }

    async fn play(&mut self, prompt: &Prompt) -> bool {
        self.messages += 1;
        let length = self.sim.speech.length(prompt);
        let (kind, text) = match prompt {
            Prompt::Text(text) => ("text", text),
            Prompt::Ssml(ssml) => ("ssml", ssml),
            Prompt::Stored(id) => ("prompt", id),
        };
        self.push(StepKind::Message {
            text: text.clone(),
            kind,
            length,
        });
        if self.hang_up_at == Some(self.messages) {
            tokio::time::sleep(length / 2).await;
            return false;
        }
        tokio::time::sleep(length).await;
        true
    }

    async fn wait(&mut self, time: Duration) -> bool {
        tokio::time::sleep(time).await;
        true
    }
}

/// Invokes `function` synchronously through the front and reads its answer as
/// Connect does (`STRING_MAP`): a function error, no answer within `limit`, or
/// an answer that is not a flat map of strings is the Lambda error branch.
async fn send(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    event: Value,
    limit: Duration,
) -> Answer {
    let call = lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.to_string()))
        .send();
    match tokio::time::timeout(limit, call).await {
        Err(_) => Err(format!("no answer within {} s", limit.as_secs_f64())),
        Ok(Err(err)) => Err(shared::telemetry::error_chain(
            &aws_sdk_lambda::Error::from(err),
        )),
        Ok(Ok(output)) if output.function_error.is_some() => Err(format!(
            "function error {}",
            output.function_error.unwrap_or_default()
        )),
        Ok(Ok(output)) => {
            let payload = output.payload.map(Blob::into_inner).unwrap_or_default();
            match serde_json::from_slice::<Value>(&payload) {
                Ok(Value::Object(answer)) if answer.values().all(Value::is_string) => Ok(answer),
                _ => Err("the answer is not a flat map of strings".into()),
            }
        }
    }
}

/// The local function behind a flow's function ARN: the flow names the deployed
/// functions (`<stage>-<service>-connectintegrationstart`, ...) or holds
/// placeholders for them (`{{StartFunctionArn}}`); the local stack serves the
/// workspace's binaries by crate name. `{{IntegrationFunctionArn}}`, the native
/// flow's, is the rule's own function, `integration`.
pub fn local_function(function_arn: &str, integration: &str) -> String {
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
    } else if lower.contains("integrationfunctionarn") {
        integration.into()
    } else {
        name.to_owned()
    }
}
