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

use serde_json::{Map, Value};
use shared::{
    keys::{INTEGRATION_ERROR_CAUSE, INTEGRATION_STATUS},
    ContactId,
};
use tokio::sync::watch;

use kit::connect_event;

use super::{
    invoke::{local_function, send},
    CallStep, Scenario, Simulator, Step, StepKind,
};
use crate::connect::flow::{
    retry::{self, Attempts, Retry},
    unpublished::A_FAILED_INVOCATION_RETURNS,
    Call, Channel, Contact, Prompt, Waited,
};

type Payload = Vec<u8>;

/// An asynchronous invocation in flight, or finished.
struct Invocation {
    function: String,
    sent_at: Duration,
    limit: Duration,
    /// Its attempts, once they have ended.
    done: watch::Receiver<Option<Attempts<Payload>>>,
    /// Whether its retries are in the steps yet.
    retries_recorded: bool,
}

/// Whether a Wait on the Lambda sees these attempts as its return.
fn returned(done: &Option<Attempts<Payload>>) -> bool {
    done.as_ref()
        .is_some_and(|a| A_FAILED_INVOCATION_RETURNS || a.answer.is_ok())
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
    /// A chat reads a message at once; a voice caller hears it for its length.
    channel: Channel,
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
            channel: scenario.channel,
        }
    }

    /// Waits for every asynchronous invocation still running, each up to its
    /// time limit, as Connect lets them run after the flow has moved on; and
    /// records the retries of those the flow never loaded.
    pub(super) async fn settle(&mut self) {
        let mut retried = Vec::new();
        for invocation in self.invocations.values_mut() {
            let limit = invocation.limit + Duration::from_secs(1);
            let _ = tokio::time::timeout(limit, invocation.done.wait_for(Option::is_some)).await;
            if let Some(done) = invocation.done.borrow().as_ref() {
                if !invocation.retries_recorded {
                    invocation.retries_recorded = true;
                    let function = invocation.function.clone();
                    retried.push((function, invocation.sent_at, done.retries.clone()));
                }
            }
        }
        for (function, sent_at, retries) in retried {
            self.record_retries(&function, sent_at, &retries);
        }
    }

    fn push(&mut self, what: StepKind) {
        self.push_at(self.began.elapsed(), what);
    }

    fn push_at(&mut self, at: Duration, what: StepKind) {
        self.steps.push(Step { at, what });
    }

    /// Records an invocation's retries, each where it falls in the timeline
    /// (an asynchronous invocation's happen while the flow goes on).
    fn record_retries(&mut self, function: &str, sent_at: Duration, retries: &[Retry]) {
        for (attempt, retry) in (1..).zip(retries) {
            let at = sent_at + retry.at;
            let what = StepKind::Retried {
                function: function.to_owned(),
                attempt,
                failure: retry.after.to_string(),
            };
            let index = self.steps.partition_point(|s| s.at <= at);
            self.steps.insert(index, Step { at, what });
        }
    }

    /// The Connect event for a call, with the block's parameters.
    fn event(&self, call: &Call<'_>) -> Value {
        let mut event = connect_event(self.contact);
        event["Details"]["ContactData"]["Channel"] = self.channel.as_str().into();
        event["Details"]["Parameters"] = Value::Object(call.parameters.clone());
        event
    }
}

impl Contact for Caller<'_> {
    async fn invoke(&mut self, call: Call<'_>) -> Result<Payload, String> {
        let function = local_function(call.function_arn, self.integration);
        let sent_at = self.began.elapsed();
        let (lambda, event) = (&self.sim.lambda, self.event(&call));
        let attempts =
            retry::invoke(call.time_limit, || send(lambda, &function, event.clone())).await;
        let answer = attempts.answer.map_err(|failure| failure.to_string());
        let step = CallStep {
            function: function.clone(),
            sent_at,
            took: attempts.took,
            limit: call.time_limit,
            asynchronous: false,
            failure: call
                .parameters
                .get("FlowFailure")
                .and_then(Value::as_str)
                .map(str::to_owned),
            // Filled in when the flow has read the answer (`answer_read`).
            status: None,
            error: None,
            from_state: false,
        };
        self.push_at(sent_at, StepKind::Call(step));
        self.record_retries(&function, sent_at, &attempts.retries);
        answer
    }

    async fn invoke_async(&mut self, call: Call<'_>) -> Result<String, String> {
        let function = local_function(call.function_arn, self.integration);
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = watch::channel(None);
        let (lambda, event, limit) = (self.sim.lambda.clone(), self.event(&call), call.time_limit);
        let name = function.clone();
        tokio::spawn(async move {
            let attempts = retry::invoke(limit, || send(&lambda, &name, event.clone())).await;
            let _ = tx.send(Some(attempts));
        });
        self.invocations.insert(
            id.clone(),
            Invocation {
                function: function.clone(),
                sent_at: self.began.elapsed(),
                limit,
                done: rx,
                retries_recorded: false,
            },
        );
        self.push(StepKind::Invoked {
            function,
            id: id.clone(),
        });
        Ok(id)
    }

    async fn wait_for_lambda(&mut self, id: Option<&str>, time: Duration) -> Waited {
        let (at, began) = (self.began.elapsed(), Instant::now());
        // An id Connect does not know waits out its time, as the guide says.
        let waited = match id.and_then(|id| self.invocations.get_mut(id)) {
            Some(invocation) if returned(&invocation.done.borrow()) => Waited::AlreadyReturned,
            Some(invocation) => {
                let wait = invocation.done.wait_for(returned);
                match tokio::time::timeout(time, wait).await {
                    Ok(Ok(_)) => Waited::Returned,
                    _ => Waited::TimedOut,
                }
            }
            None => {
                tokio::time::sleep(time).await;
                Waited::TimedOut
            }
        };
        self.push_at(
            at,
            StepKind::Waited {
                took: began.elapsed(),
                limit: time,
                returned: waited != Waited::TimedOut,
            },
        );
        waited
    }

    async fn load_result(&mut self, id: &str) -> Result<Payload, String> {
        let Some(invocation) = self.invocations.get_mut(id) else {
            return Err(format!("no invocation {id}"));
        };
        let done = invocation.done.borrow().clone();
        let (function, sent_at, limit) = (
            invocation.function.clone(),
            invocation.sent_at,
            invocation.limit,
        );
        let unrecorded = done.is_some() && !invocation.retries_recorded;
        invocation.retries_recorded |= unrecorded;
        let (answer, took, retries) = match done {
            Some(done) => (
                done.answer.map_err(|failure| failure.to_string()),
                done.took,
                done.retries,
            ),
            None => (
                Err("the invocation has not finished".into()),
                Duration::ZERO,
                Vec::new(),
            ),
        };
        let step = CallStep {
            function: function.clone(),
            sent_at,
            took,
            limit,
            asynchronous: true,
            failure: None,
            status: None,
            error: None,
            from_state: false,
        };
        self.push(StepKind::Call(step));
        if unrecorded {
            self.record_retries(&function, sent_at, &retries);
        }
        answer
    }

    fn answer_read(&mut self, read: Result<&Map<String, Value>, &str>) {
        let last = self.steps.iter_mut().rev().find_map(|s| match &mut s.what {
            StepKind::Call(call) => Some(call),
            _ => None,
        });
        let Some(call) = last else { return };
        match read {
            Ok(answer) => {
                call.status = answer
                    .get(INTEGRATION_STATUS)
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                // The answer carried the contact's state: the function read it.
                call.from_state = answer
                    .keys()
                    .any(|k| k != INTEGRATION_STATUS && k != INTEGRATION_ERROR_CAUSE);
                call.error = None;
            }
            Err(why) => {
                call.status = None;
                call.from_state = false;
                call.error = Some(why.to_owned());
            }
        }
    }

    async fn play(&mut self, prompt: &Prompt) -> bool {
        self.play_while_waiting(prompt, None, Duration::MAX).await
    }

    fn has_returned(&self, id: &str) -> bool {
        self.invocations
            .get(id)
            .is_some_and(|invocation| returned(&invocation.done.borrow()))
    }

    /// Plays for the prompt's length, or until the invocation `id` returns or
    /// `time` runs out (a keep-running Wait's Continue branch): then the
    /// message is recorded with the length played, and the Wait's end after it.
    async fn play_while_waiting(
        &mut self,
        prompt: &Prompt,
        id: Option<&str>,
        time: Duration,
    ) -> bool {
        self.messages += 1;
        let length = match self.channel {
            Channel::Voice => self.sim.speech.length(prompt),
            _ => Duration::ZERO,
        };
        let (kind, text) = match prompt {
            Prompt::Text(text) => ("text", text),
            Prompt::Ssml(ssml) => ("ssml", ssml),
            Prompt::Stored(id) => ("prompt", id),
        };
        let (at, began) = (self.began.elapsed(), Instant::now());
        let text = text.clone();
        let hangs_up = self.hang_up_at == Some(self.messages);
        let heard = if hangs_up { length / 2 } else { length };
        let mut done = id
            .and_then(|id| self.invocations.get(id))
            .map(|invocation| invocation.done.clone());
        let event = async {
            match done.as_mut() {
                Some(done) => drop(done.wait_for(returned).await),
                None => std::future::pending().await,
            }
        };
        let cut = tokio::select! {
            _ = tokio::time::sleep(heard) => false,
            _ = event => true,
            _ = tokio::time::sleep(time) => true,
        };
        let played = if cut { began.elapsed() } else { length };
        self.push_at(
            at,
            StepKind::Message {
                text,
                kind,
                length: played,
            },
        );
        if cut {
            self.push(StepKind::Waited {
                took: began.elapsed(),
                limit: time,
                returned: id.is_some_and(|id| self.has_returned(id)),
            });
            return true;
        }
        !hangs_up
    }
}
