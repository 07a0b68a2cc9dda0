//! The contact simulator, Connect's stand-in: it seeds a contact's state as the
//! Rules Engine does when an integration rule fires, plays a contact flow of
//! `infra/` through the Lambda Invoke API, hears the comfort messages for their
//! length, maybe hangs up, and keeps a timeline of everything it did.
//!
//! A contact whose rules fire several integrations in one call re-enters the
//! integration flow once for each (the Rules Engine's Main → Integration →
//! Main → …): the flow's [`Memory`] (contact attributes, Loop counts) is the
//! contact's, kept across re-entry, and each pass is a [`Played`] of its own,
//! with the state as the pass left it.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use shared::{store::Patience, ContactId, ContactState, IntegrationStatus, RunId, Store};

use kit::Rule;

use super::flow::{self, Ending, Flow, Memory, Speech};
use crate::stack::faults::Refusals;

pub use invoke::local_function;
pub use scenarios::{scenarios, RuleMessage, Scenario, ECHO, LEGACY, OUTPUT_KEY};
pub use steps::{CallStep, Step, StepKind};
pub use timeline::{short, timeline};

mod caller;
mod invoke;
mod scenarios;
mod steps;
mod timeline;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which of the three flows a contact plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowKind {
    /// `integration.json`: start, then check-timeout between messages.
    Polling,
    /// `integration-native.json`: Connect's asynchronous invocation of the
    /// rule's own function, its messages while a Wait waits for it.
    Native,
    /// `integration-async.json`: Connect's asynchronous invocation of start,
    /// which waits until the run ends; its messages while a Wait waits for it.
    AsyncStart,
}

impl FlowKind {
    pub const ALL: [FlowKind; 3] = [FlowKind::Polling, FlowKind::Native, FlowKind::AsyncStart];

    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Polling => "polling",
            FlowKind::Native => "native",
            FlowKind::AsyncStart => "async-start",
        }
    }

    /// The kind `flow` is, by the invocation that opens its run.
    pub fn of(flow: &Flow) -> Option<FlowKind> {
        let (function, asynchronous) = flow.opening()?;
        Some(match (asynchronous, local_function(function, "")) {
            (false, _) => FlowKind::Polling,
            (true, f) if f == "integration-start" => FlowKind::AsyncStart,
            (true, _) => FlowKind::Native,
        })
    }

    /// Whether the flow has an asynchronous invocation (and so Waits).
    pub fn is_asynchronous(self) -> bool {
        self != FlowKind::Polling
    }
}

/// One pass of a contact through the flow, played to its end.
#[derive(Debug, Clone)]
pub struct Played {
    pub contact: ContactId,
    pub scenario: Scenario,
    pub flow: FlowKind,
    /// Which pass of the contact's call this is (0 = the first) and of how many.
    pub pass: (u32, u32),
    pub steps: Vec<Step>,
    pub ending: Ending,
    pub run_id: Option<RunId>,
    /// When the pass began; steps are timed from here.
    pub began: Instant,
    /// The state as the pass left it, when another pass followed (which
    /// changes it); `None`: the state to judge is the store's.
    pub snapshot: Option<ContactState>,
}

/// A call's timing and answer, as the invariants judge it.
#[derive(Debug, Clone, Copy)]
pub struct Timed<'a> {
    pub sent: Instant,
    pub took: Duration,
    pub limit: Duration,
    pub status: Option<&'a str>,
    /// The call failed (the flow took its error branch).
    pub failed: bool,
}

impl Played {
    /// Each Lambda call: when it was sent, how long it took, what it answered.
    pub fn call_steps(&self) -> impl Iterator<Item = Timed<'_>> {
        self.steps.iter().filter_map(|s| match &s.what {
            StepKind::Call(call) => Some(Timed {
                sent: self.began + call.sent_at,
                took: call.took,
                limit: call.limit,
                status: call.status.as_deref(),
                failed: call.error.is_some(),
            }),
            _ => None,
        })
    }

    /// The status the caller was told: the last one a call answered from the
    /// contact's state, or `TIMEOUT` for a caller who hung up while the run
    /// was open (the sweep, or the native run's deadline, comes to it). `None`
    /// when the last call answered no status, or an `ERROR` without the state,
    /// neither of which says anything of the run.
    pub fn told(&self) -> Option<IntegrationStatus> {
        if self.ending == Ending::HungUp {
            return Some(IntegrationStatus::Timeout);
        }
        let last = self.steps.iter().rev().find_map(|s| match &s.what {
            StepKind::Call(call) => Some(call),
            _ => None,
        })?;
        let status = last.status.as_deref()?.parse::<IntegrationStatus>().ok()?;
        (last.from_state || status != IntegrationStatus::Error).then_some(status)
    }

    /// When the pass ended (its last step).
    pub fn ended(&self) -> Instant {
        self.began + self.steps.last().map_or(Duration::ZERO, |s| s.at)
    }

    /// How many times Connect retried a Lambda invocation in the pass
    /// ([`StepKind::Retried`]).
    pub fn retries(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.what, StepKind::Retried { .. }))
            .count()
    }

    /// How many messages the contact was sent (each, whole or cut short).
    pub fn messages(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.what, StepKind::Message { .. }))
            .count()
    }

    /// How long each Lambda call took, by function.
    pub fn calls(&self) -> impl Iterator<Item = (&str, Duration)> {
        self.steps.iter().filter_map(|s| match &s.what {
            StepKind::Call(call) => Some((call.function.as_str(), call.took)),
            _ => None,
        })
    }
}

/// The flows the simulator plays, at most one of each kind.
#[derive(Debug, Clone, Default)]
pub struct Flows(std::collections::BTreeMap<FlowKind, Flow>);

impl Flows {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, kind: FlowKind) -> Option<&Flow> {
        self.0.get(&kind)
    }

    /// Adds `flow` as the kind it is ([`FlowKind::of`]); `Err` with the kind
    /// if one of that kind is there already, or with why it is of none.
    pub fn add(&mut self, flow: Flow) -> Result<FlowKind, String> {
        let kind = FlowKind::of(&flow).ok_or("the flow invokes no Lambda function")?;
        match self.0.insert(kind, flow) {
            None => Ok(kind),
            Some(_) => Err(format!("a second {} flow", kind.as_str())),
        }
    }

    /// The kinds of flow `scenario` can play, of those here.
    pub fn for_scenario(&self, scenario: &Scenario) -> Vec<FlowKind> {
        self.0
            .keys()
            .copied()
            .filter(|kind| *kind != FlowKind::Native || scenario.plays_native())
            .collect()
    }
}

/// Plays contacts through a Lambda Invoke API endpoint.
#[derive(Clone)]
pub struct Simulator {
    pub store: Store,
    pub lambda: aws_sdk_lambda::Client,
    pub flows: Flows,
    pub speech: Speech,
    /// The Lambda front's refusals: a scenario whose flow's first call fails
    /// names its contact here.
    pub refusals: Refusals,
}

impl Simulator {
    /// Seeds the rule, plays the flow (once per integration), and returns the passes.
    pub async fn play(&self, scenario: &Scenario, kind: FlowKind) -> Result<Vec<Played>, BoxError> {
        let contact = self.arrive(scenario).await?;
        self.play_arrived(contact, scenario, kind).await
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

    /// Plays the flow for a contact that has [arrived](Self::arrive): once for
    /// each of the scenario's integrations, the rule fired again before each
    /// pass after the first, until the caller hangs up.
    pub async fn play_arrived(
        &self,
        contact: ContactId,
        scenario: &Scenario,
        kind: FlowKind,
    ) -> Result<Vec<Played>, BoxError> {
        let flow = self
            .flows
            .get(kind)
            .ok_or_else(|| format!("no {} flow to play", kind.as_str()))?;
        if scenario.refuse_opening_call {
            let (opening, _) = flow.opening().unwrap_or_default();
            let function = local_function(opening, scenario.function);
            self.refusals.refuse_call(&function, contact.as_str());
        }
        let mut memory = Memory::default();
        memory.channel = scenario.channel;
        let mut passes = Vec::new();
        let total = scenario.integrations.max(1);
        for pass in 0..total {
            if pass > 0 {
                patiently(&self.store, || self.seed(&contact, scenario)).await?;
            }
            // The Rules Engine's main flow enters with its rules inference's
            // answer, the rule's keys, under $.External.
            memory.external = scenario_answer(scenario);
            let mut played = self
                .pass(&contact, scenario, kind, flow, &mut memory)
                .await?;
            played.pass = (pass, total);
            let hung_up = played.ending == Ending::HungUp;
            if pass + 1 < total && !hung_up {
                played.snapshot =
                    Some(patiently(&self.store, || self.store.load_state(&contact)).await?);
            }
            passes.push(played);
            if hung_up {
                break;
            }
        }
        Ok(passes)
    }

    /// One play of `flow` for the contact.
    async fn pass(
        &self,
        contact: &ContactId,
        scenario: &Scenario,
        kind: FlowKind,
        flow: &Flow,
        memory: &mut Memory,
    ) -> Result<Played, BoxError> {
        let mut caller = caller::Caller::new(self, contact, scenario);
        let ending = flow::play(flow, &mut caller, memory).await?;
        let at = caller.began.elapsed();
        // Connect lets an asynchronous invocation run on after the caller has
        // gone; its run is the contact's once it has opened it.
        caller.settle().await;
        let (began, mut steps) = (caller.began, caller.steps);
        steps.push(Step {
            at,
            what: match &ending {
                Ending::HungUp => StepKind::HungUp,
                Ending::Block(how) => StepKind::Ended(how.clone()),
                Ending::Transfer(to) => StepKind::Ended(format!("transfer to {to}")),
                Ending::Unhandled { block, error } => {
                    StepKind::Ended(format!("unhandled error at {block}: {error}"))
                }
            },
        });
        Ok(Played {
            contact: contact.clone(),
            scenario: scenario.clone(),
            flow: kind,
            pass: (0, 1),
            steps,
            ending,
            run_id: self.run_of(contact).await?,
            began,
            snapshot: None,
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
        rule.seed(&self.store, contact, scenario.message.keys())
            .await
    }
}

/// What the Rules Engine's rules inference answers the main flow when the rule
/// fires: the rule's keys, as strings.
fn scenario_answer(scenario: &Scenario) -> Map<String, Value> {
    scenario
        .message
        .keys()
        .into_iter()
        .filter(|(_, value)| value.is_string())
        .chain([
            ("CurrentRuleType".to_owned(), json!("Integration")),
            (
                "CurrentRule_functionName".to_owned(),
                json!(scenario.function),
            ),
            (
                "CurrentRule_functionArn".to_owned(),
                json!(scenario.function),
            ),
        ])
        .collect()
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

#[cfg(test)]
mod tests;
