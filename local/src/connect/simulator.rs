//! The contact simulator, Connect's stand-in: it seeds a contact's state as the
//! Rules Engine does when an integration rule fires, plays the contact flow of
//! `infra/` through the Lambda Invoke API, hears the comfort messages, maybe
//! hangs up, and keeps a timeline of everything it did.

use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use serde_json::{Map, Value};
use shared::{
    keys::{INTEGRATION_ERROR_CAUSE, INTEGRATION_STATUS},
    store::Patience,
    ContactId, IntegrationStatus, RunId, Store,
};

use kit::{connect_event, Rule};

use super::flow::{self, Contact, Ending, Flow};

pub use scenarios::{scenarios, Scenario, ECHO, LEGACY, OUTPUT_KEY};
pub use timeline::timeline;

mod scenarios;
mod timeline;

/// One thing that happened to a contact, at `at` after the call began.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: Duration,
    pub what: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Call {
        function: String,
        took: Duration,
        status: Option<String>,
        error: Option<String>,
        /// The answer carried the contact's state: the function read it, so
        /// its status is the run's (an `ERROR` said without it, when the
        /// store could not be reached, says nothing of the run).
        from_state: bool,
    },
    Message(String),
    HungUp,
    Ended(String),
}

/// A contact played to its end.
#[derive(Debug, Clone)]
pub struct Played {
    pub contact: ContactId,
    pub scenario: Scenario,
    pub steps: Vec<Step>,
    pub ending: Ending,
    pub run_id: Option<RunId>,
    /// When the call began; steps are timed from here.
    pub began: Instant,
}

impl Played {
    /// Each Connect-facing call: when it was sent, how long it took, what it answered.
    pub fn call_steps(&self) -> impl Iterator<Item = (Instant, Duration, Option<&str>)> {
        self.steps.iter().filter_map(|s| match &s.what {
            StepKind::Call { took, status, .. } => {
                Some((self.began + s.at, *took, status.as_deref()))
            }
            _ => None,
        })
    }

    /// The status the caller was told: the last one a call answered from the
    /// contact's state, or `TIMEOUT` for a caller who hung up while the run
    /// was open (the sweep must come to it). `None` when the last call
    /// answered no status, or an `ERROR` without the state, neither of which
    /// says anything of the run.
    pub fn told(&self) -> Option<IntegrationStatus> {
        if self.ending == Ending::HungUp {
            return Some(IntegrationStatus::Timeout);
        }
        let last = self.steps.iter().rev().find_map(|s| match &s.what {
            StepKind::Call {
                status, from_state, ..
            } => Some((status.as_deref(), *from_state)),
            _ => None,
        });
        let (status, from_state) = last?;
        let status = status?.parse::<IntegrationStatus>().ok()?;
        (from_state || status != IntegrationStatus::Error).then_some(status)
    }

    /// When the contact's call ended (its last step).
    pub fn ended(&self) -> Instant {
        self.began + self.steps.last().map_or(Duration::ZERO, |s| s.at)
    }

    /// How long each Connect-facing call took, by function.
    pub fn calls(&self) -> impl Iterator<Item = (&str, Duration)> {
        self.steps.iter().filter_map(|s| match &s.what {
            StepKind::Call { function, took, .. } => Some((function.as_str(), *took)),
            _ => None,
        })
    }
}

/// Plays contacts through a Lambda Invoke API endpoint.
#[derive(Clone)]
pub struct Simulator {
    pub store: Store,
    pub lambda: aws_sdk_lambda::Client,
    pub flow: Flow,
    /// How long a comfort message plays.
    pub message_time: Duration,
}

impl Simulator {
    /// Seeds the rule, plays the flow, and returns the timeline.
    pub async fn play(
        &self,
        scenario: &Scenario,
    ) -> Result<Played, Box<dyn std::error::Error + Send + Sync>> {
        let contact = self.arrive(scenario).await?;
        self.play_arrived(contact, scenario).await
    }

    /// A new contact whose integration rule has fired: the state the Rules
    /// Engine writes then. Its writes wait out a store outage: the contact
    /// reaches the flow once its rule's state is written.
    pub async fn arrive(&self, scenario: &Scenario) -> Result<ContactId, shared::StoreError> {
        let contact = ContactId::parse(uuid::Uuid::new_v4().to_string())
            .expect("a UUID is a valid contact id");
        patiently(&self.store, || self.seed(&contact, scenario)).await?;
        Ok(contact)
    }

    /// Plays the flow for a contact that has [arrived](Self::arrive).
    pub async fn play_arrived(
        &self,
        contact: ContactId,
        scenario: &Scenario,
    ) -> Result<Played, Box<dyn std::error::Error + Send + Sync>> {
        let mut caller = Caller {
            sim: self,
            contact: &contact,
            began: Instant::now(),
            steps: Vec::new(),
            messages: 0,
            hang_up_at: scenario.hang_up_at_message,
        };
        let ending = flow::play(&self.flow, &mut caller).await?;
        let mut steps = caller.steps;
        let began = caller.began;
        let at = began.elapsed();
        steps.push(Step {
            at,
            what: match &ending {
                Ending::HungUp => StepKind::HungUp,
                Ending::Block(how) => StepKind::Ended(how.clone()),
            },
        });
        let run_id = self.run_of(&contact).await?;
        Ok(Played {
            contact,
            scenario: scenario.clone(),
            steps,
            ending,
            run_id,
            began,
        })
    }

    /// The run the contact's status item holds now, if any.
    pub async fn run_of(&self, contact: &ContactId) -> Result<Option<RunId>, shared::StoreError> {
        Ok(patiently(&self.store, || self.store.status(contact))
            .await?
            .and_then(|r| r.run_id))
    }

    /// The state the Rules Engine writes when an integration rule fires.
    async fn seed(
        &self,
        contact: &ContactId,
        scenario: &Scenario,
    ) -> Result<(), shared::StoreError> {
        let name = format!("Integration: {}", scenario.name);
        let payload = scenario.payload.to_string();
        let rule = Rule {
            name: &name,
            function: scenario.function,
            output_key: OUTPUT_KEY,
            timeout_s: scenario.timeout_s,
            payload: &payload,
        };
        rule.seed(&self.store, contact, []).await
    }
}

/// Runs a store call of the simulator's own until it succeeds or a minute
/// passes, every 250 ms: the simulator stands for Connect and the Rules Engine,
/// whose writes are not what a store outage is meant to test.
async fn patiently<T, F, Fut>(store: &Store, call: F) -> Result<T, shared::StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, shared::StoreError>>,
{
    let patience = Patience {
        for_at_most: Duration::from_secs(60),
        longest_pause: Duration::from_millis(250),
    };
    shared::store::patiently(store.clock(), patience, |_, _| {}, call).await
}

/// The flow's view of one contact.
struct Caller<'a> {
    sim: &'a Simulator,
    contact: &'a ContactId,
    began: Instant,
    steps: Vec<Step>,
    messages: u32,
    hang_up_at: Option<u32>,
}

impl Contact for Caller<'_> {
    async fn invoke(
        &mut self,
        function_arn: &str,
        time_limit: Duration,
    ) -> Result<Map<String, Value>, String> {
        let function = local_function(function_arn);
        let at = self.began.elapsed();
        let sent = Instant::now();
        let call = self
            .sim
            .lambda
            .invoke()
            .function_name(&function)
            .payload(Blob::new(connect_event(self.contact).to_string()))
            .send();
        let result = match tokio::time::timeout(time_limit, call).await {
            Err(_) => Err(format!("no answer within {} s", time_limit.as_secs_f64())),
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
                    Ok(Value::Object(answer)) if answer.values().all(Value::is_string) => {
                        Ok(answer)
                    }
                    _ => Err("the answer is not a flat map of strings".into()),
                }
            }
        };
        self.steps.push(Step {
            at,
            what: StepKind::Call {
                function,
                took: sent.elapsed(),
                status: result
                    .as_ref()
                    .ok()
                    .and_then(|a| a.get("IntegrationStatus"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                error: result.as_ref().err().cloned(),
                from_state: result.as_ref().is_ok_and(|answer| {
                    answer
                        .keys()
                        .any(|k| k != INTEGRATION_STATUS && k != INTEGRATION_ERROR_CAUSE)
                }),
            },
        });
        result
    }

    async fn play(&mut self, text: &str) -> bool {
        self.messages += 1;
        self.steps.push(Step {
            at: self.began.elapsed(),
            what: StepKind::Message(text.to_owned()),
        });
        if self.hang_up_at == Some(self.messages) {
            tokio::time::sleep(self.sim.message_time / 2).await;
            return false;
        }
        tokio::time::sleep(self.sim.message_time).await;
        true
    }

    async fn wait(&mut self, time: Duration) -> bool {
        tokio::time::sleep(time).await;
        true
    }
}

/// The local function behind a flow's function ARN: the flow names the deployed
/// functions (`<stage>-<service>-connectintegrationstart`, ...) or holds
/// placeholders for them (`{{StartFunctionArn}}`); the local stack serves the
/// workspace's binaries by crate name.
pub fn local_function(function_arn: &str) -> String {
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

#[cfg(test)]
mod tests;
