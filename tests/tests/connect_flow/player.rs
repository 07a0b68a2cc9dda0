//! The shipped contact flows played block by block (the local stack's
//! interpreter, `local_stack::connect::flow`) against the real handlers in
//! process: integration-start, check-timeout, and the echo integration function
//! through the framework (invoked asynchronously by start, or natively by the
//! flow), all on DynamoDB Local. A call can be refused, as a throttled Lambda
//! refuses it.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use integration_echo::echo;
use kit::{lambda::fake::FakeLambda, Rule};
use lambda_runtime::{Context, LambdaEvent};
use local_stack::connect::flow::{
    self,
    retry::{self, Failure},
    Call, Contact, Ending, Flow, Memory, Prompt, Waited,
};
use serde_json::{json, Value};
use shared::{
    connect::Instance,
    integration::{self, Settings},
    waiting::WaitConfig,
    ContactId, ContactState, Store,
};
use tokio::sync::watch;

use crate::support::{event_for, start_deps, OWN_ARN};

pub const POLLING: &str = include_str!("../../../infra/contact-flows/integration.json");
pub const NATIVE: &str = include_str!("../../../infra/contact-flows/integration-native.json");
pub const ASYNC: &str = include_str!("../../../infra/contact-flows/integration-async.json");
/// The flow shipped before its backstop stopped resting on Loop blocks.
pub const LOOP_BACKSTOP: &str = include_str!("../../fixtures/connect/flow-with-loop-backstop.json");

/// The integration function's name, as the rule and the run name it.
pub const ECHO: &str = "dev-rules-engine-integrationEcho";

/// An invocation's payload, or why it failed.
type Answer = Result<Vec<u8>, String>;

/// The three functions' handlers on one store.
pub struct Handlers {
    pub store: Store,
    start: Arc<integration_start::Deps>,
    check: check_timeout::Deps,
    integration: Arc<integration::Deps>,
    _lambda: FakeLambda,
}

impl Handlers {
    /// check-timeout waits up to `budget` a call (start its default).
    pub async fn new(store: Store, budget: Duration) -> Self {
        let settings = Settings {
            function_name: Some(ECHO.into()),
            ..Settings::default()
        };
        // Each function's requests as its role in the template may make them.
        let echo_store = kit::table::as_role(&store, kit::iam::Role::Echo);
        let integration = Arc::new(integration::Deps::new(echo_store, settings));
        let invoked = integration.clone();
        // start's asynchronous invocation runs the framework's echo on a task.
        let lambda = FakeLambda::accepting(move |invocation| {
            let deps = invoked.clone();
            tokio::spawn(async move {
                let event = LambdaEvent::new(invocation.payload, Context::default());
                integration::handle(event, &deps, echo).await
            });
        })
        .await;
        let check = check_timeout::Deps {
            store: kit::table::as_role(&store, kit::iam::Role::CheckTimeout),
            wait: WaitConfig {
                budget,
                ..WaitConfig::default()
            },
            instance: Instance::new(),
        };
        Self {
            start: Arc::new(start_deps(store.clone(), &lambda)),
            store,
            check,
            integration,
            _lambda: lambda,
        }
    }

    /// Fires an integration rule for `contact`, as the Rules Engine does.
    pub async fn fire(
        &self,
        contact: &ContactId,
        payload: Value,
        timeout_s: u32,
        message: &[(&str, &str)],
    ) {
        let payload = payload.to_string();
        let rule = Rule {
            name: "Look up account",
            function: ECHO,
            output_key: "EchoResult",
            timeout_s,
            payload: &payload,
        };
        let message = [
            "CurrentRule_functionMessageType",
            "CurrentRule_functionMessage",
        ]
        .map(|key| {
            (
                key.to_owned(),
                message
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(Value::Null, |(_, v)| json!(v)),
            )
        });
        rule.seed(&self.store, contact, message).await.unwrap();
    }

    pub async fn state(&self, contact: &ContactId) -> ContactState {
        self.store.load_state(contact).await.unwrap()
    }

    /// What the flow holds when the Rules Engine's main flow sends the
    /// contact in: its rules inference's answer, the state's top-level
    /// strings (the rule's keys among them), under `$.External`.
    pub async fn entered(&self, contact: &ContactId) -> Memory {
        let answer = shared::connect::Answer::from_state(&self.state(contact).await);
        let mut memory = Memory::default();
        memory.external = answer.into_value().as_object().cloned().unwrap_or_default();
        memory
    }

    /// start's answer for `contact`, called directly.
    pub async fn start(&self, contact: &ContactId) -> Value {
        integration_start::handle(event_for(contact), Some(OWN_ARN), &self.start).await
    }

    /// check-timeout's answer for `contact`, recording `failure` if given.
    pub async fn check(&self, contact: &ContactId, failure: Option<&str>) -> Value {
        let mut event = event_for(contact);
        if let Some(failure) = failure {
            event["Details"]["Parameters"] = json!({ "FlowFailure": failure });
        }
        check_timeout::handle(event, &self.check).await
    }
}

/// One contact's calls, through the handlers.
pub struct InProcess<'a> {
    handlers: &'a Handlers,
    contact: ContactId,
    /// Calls refused, by function: `start`, `check`, `integration`.
    pub refused: BTreeSet<&'static str>,
    /// What happened, in order: calls by function (a failure record as
    /// `record <FlowFailure>`), `♪` for a prompt, `wait` for a Wait.
    pub log: Vec<String>,
    invocations: HashMap<String, watch::Receiver<Option<Answer>>>,
}

impl<'a> InProcess<'a> {
    pub fn new(handlers: &'a Handlers, contact: &ContactId) -> Self {
        Self {
            handlers,
            contact: contact.clone(),
            refused: BTreeSet::new(),
            log: Vec::new(),
            invocations: HashMap::new(),
        }
    }

    /// Plays `flow` for the contact, with what the flow remembers of it.
    pub async fn play(&mut self, flow: &Flow, memory: &mut Memory) -> Ending {
        flow::play(flow, self, memory).await.unwrap()
    }

    pub fn count(&self, what: &str) -> usize {
        self.log.iter().filter(|l| l.as_str() == what).count()
    }

    fn event(&self, call: &Call<'_>) -> Value {
        let mut event = event_for(&self.contact);
        event["Details"]["Parameters"] = Value::Object(call.parameters.clone());
        event
    }
}

fn function(arn: &str) -> &'static str {
    match arn {
        "{{StartFunctionArn}}" => "start",
        "{{CheckTimeoutFunctionArn}}" => "check",
        // The native flow invokes the rule's own function.
        ECHO => "integration",
        other => panic!("the flow invokes {other}"),
    }
}

/// A handler's answer as the Invoke API returns it: its payload, which the
/// flow reads as its block's `ResponseValidation` says.
fn payload(answer: Value) -> Vec<u8> {
    answer.to_string().into_bytes()
}

/// A refused call, as Lambda refuses it when it throttles.
fn throttled() -> Failure {
    Failure::Refused {
        status: 429,
        message: "TooManyRequestsException".into(),
    }
}

impl Contact for InProcess<'_> {
    async fn invoke(&mut self, call: Call<'_>) -> Result<Vec<u8>, String> {
        let name = function(call.function_arn);
        let failure = call.parameters.get("FlowFailure").and_then(Value::as_str);
        self.log
            .push(failure.map_or(name.to_owned(), |f| format!("record {f}")));
        let (refused, event, h) = (
            self.refused.contains(name),
            self.event(&call),
            self.handlers,
        );
        // Connect's retries: a refused call is tried again, and refused again.
        let attempts = retry::invoke(call.time_limit, || {
            let event = event.clone();
            async move {
                if refused {
                    return Err(throttled());
                }
                Ok(match name {
                    "start" => integration_start::handle(event, Some(OWN_ARN), &h.start).await,
                    "check" => check_timeout::handle(event, &h.check).await,
                    other => panic!("{other} is not invoked synchronously"),
                })
            }
        })
        .await;
        attempts.answer.map(payload).map_err(|f| f.to_string())
    }

    async fn invoke_async(&mut self, call: Call<'_>) -> Result<String, String> {
        let name = function(call.function_arn);
        self.log.push(format!("async {name}"));
        let id = format!("invocation-{}", self.invocations.len() + 1);
        let (tx, rx) = watch::channel(None);
        let refused = self.refused.contains(name);
        let (start, integration) = (
            self.handlers.start.clone(),
            self.handlers.integration.clone(),
        );
        let event = self.event(&call);
        let limit = call.time_limit;
        tokio::spawn(async move {
            let attempts = retry::invoke(limit, || {
                let (start, integration, event) =
                    (start.clone(), integration.clone(), event.clone());
                async move {
                    if refused {
                        return Err(throttled());
                    }
                    if name == "start" {
                        let answer = integration_start::handle(event, Some(OWN_ARN), &start);
                        return Ok(payload(answer.await));
                    }
                    let event = LambdaEvent::new(event, Context::default());
                    match integration::handle(event, &integration, echo).await {
                        Ok(answer) => Ok(payload(answer)),
                        Err(err) => Err(Failure::Function(err.to_string())),
                    }
                }
            })
            .await;
            let _ = tx.send(Some(attempts.answer.map_err(|f| f.to_string())));
        });
        self.invocations.insert(id.clone(), rx);
        Ok(id)
    }

    async fn wait_for_lambda(&mut self, id: Option<&str>, time: Duration) -> Waited {
        self.log.push("wait".into());
        // An id the flow cannot resolve waits out its time, as Connect's does.
        let Some(done) = id.and_then(|id| self.invocations.get_mut(id)) else {
            tokio::time::sleep(time).await;
            return Waited::TimedOut;
        };
        if done.borrow().is_some() {
            return Waited::AlreadyReturned;
        }
        match tokio::time::timeout(time, done.wait_for(Option::is_some)).await {
            Ok(_) => Waited::Returned,
            Err(_) => Waited::TimedOut,
        }
    }

    async fn load_result(&mut self, id: &str) -> Result<Vec<u8>, String> {
        self.log.push("load".into());
        let done = self.invocations[id].borrow().clone();
        done.unwrap_or_else(|| Err("not finished".into()))
    }

    async fn play(&mut self, prompt: &Prompt) -> bool {
        self.log.push(match prompt {
            Prompt::Text(_) => "♪ text".into(),
            Prompt::Ssml(ssml) => format!("♪ ssml {ssml}"),
            Prompt::Stored(id) => format!("♪ prompt {id}"),
        });
        // A prompt plays a moment: enough for the run to move on meanwhile.
        tokio::time::sleep(Duration::from_millis(300)).await;
        true
    }
}
