//! Amazon Connect's flow language, as much of it as the two integration flows
//! in `infra/contact-flows/` use, and an interpreter that plays it: so the
//! contact simulator walks the very flows a contact centre imports, not a copy
//! of their logic.
//!
//! The reference is Connect's own: the flow language (Amazon Connect API
//! Reference, "Amazon Connect Flow language": its actions `InvokeLambdaFunction`,
//! `Compare`, `MessageParticipant`, `Loop`, `UpdateContactAttributes`, `Wait`,
//! `TransferToFlow`, `DisconnectParticipant`) and, for what the language pages
//! do not spell out, the blocks' pages of the Administrator Guide ("Flow block:
//! AWS Lambda function": the asynchronous execution mode with timeouts up to
//! 60 s, the retries, and *Load Lambda result* by the invocation's id,
//! `$.LambdaInvocation.InvocationId`; "Flow block: Wait": the event-based wait
//! for such an invocation). Supported:
//!
//! - `InvokeLambdaFunction`: synchronous (1–8 s) with its answer under
//!   `$.External`, or `InvocationType` `ASYNCHRONOUS` (1–60 s), which goes on
//!   at once and leaves the invocation's id in `$.LambdaInvocation.InvocationId`;
//!   `LambdaInvocationAttributes` are sent as the event's `Details.Parameters`;
//!   the answer read as its `ResponseValidation` says ([`answer`]), retried as
//!   Connect retries ([`retry`]). With `LambdaInvocationId` instead of a
//!   function, it is *Load Lambda result*.
//! - `Wait` for an asynchronous invocation (the event [`LAMBDA_RETURNED`]).
//! - `Compare` (`Equals`), `MessageParticipant` (`Text`, `SSML` or `PromptId`,
//!   static or `$.` references), `Loop`, `UpdateContactAttributes`, and the
//!   blocks that end a flow (`DisconnectParticipant`, `EndFlowExecution`,
//!   `TransferContactToQueue`, `TransferToFlow`).
//!
//! A flow is checked when it is read (`check`: the reference's rules on
//! the flow, its identifiers, each block's parameters, error types and flow
//! type), and every refusal is reported, not only the first ([`Refused`]).
//! Where the reference is silent, or does not publish the flow-language form
//! of a block, the strictest reading is taken, each in one place
//! ([`unpublished`]).

use std::{collections::HashMap, time::Duration};

use serde_json::{Map, Value};

pub use answer::ResponseType;
pub use check::{check_files, FlowType};
pub use contact::{Call, Channel, Contact, Ending, Memory, Prompt, Waited};
pub use play::play;
pub use speech::Speech;
pub use unpublished::LAMBDA_RETURNED;

pub mod answer;
mod check;
mod contact;
mod keep_running;
mod params;
mod parse;
mod play;
pub mod retry;
mod speech;
pub mod unpublished;

/// The Wait block's result when its time ran out (the flow language's Wait:
/// "If no event interrupts the Wait and the time elapses, the run result is
/// WaitCompleted").
pub const WAIT_COMPLETED: &str = "WaitCompleted";
/// The error branch for "an error occurs and no other Error matches"
/// ("Actions in the Amazon Connect Flow Language", Transitions).
pub const NO_MATCHING_ERROR: &str = "NoMatchingError";
/// Compare's error branch, "if no other Condition matches" (the flow
/// language's Compare).
pub const NO_MATCHING_CONDITION: &str = "NoMatchingCondition";

/// One reason a flow cannot be read or played. Each names its block, where
/// there is one.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the contact flow is not valid JSON in Connect's flow language: {0}")]
    Shape(#[from] serde_json::Error),
    /// A rule on the flow as a whole (its Version, its number of actions,
    /// its flow type).
    #[error("the flow: {0}")]
    Flow(String),
    #[error("block {id} has type {kind}, which the simulator does not play")]
    Unsupported { id: String, kind: String },
    #[error("block {id} lacks parameter {parameter}")]
    MissingParameter { id: String, parameter: &'static str },
    #[error("block {id}: {problem}")]
    Invalid { id: String, problem: String },
    #[error("block {from} leads to {to}, which is not in the flow")]
    DanglingTransition { from: String, to: String },
    #[error("the flow took more than {0} steps; it loops without end")]
    Endless(usize),
}

/// Every refusal of a flow that cannot be loaded, in the order found.
#[derive(Debug)]
pub struct Refused {
    pub refusals: Vec<FlowError>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all: Vec<String> = self.refusals.iter().map(ToString::to_string).collect();
        write!(f, "{}", all.join("; "))
    }
}

impl std::error::Error for Refused {}

/// The refusals found so far, while a flow is read: each check adds its own
/// and reading goes on, so one pass reports them all.
#[derive(Debug, Default)]
struct Collect(Vec<FlowError>);

impl Collect {
    fn refuse(&mut self, error: FlowError) {
        self.0.push(error);
    }

    /// The value, or `None` with its refusal kept.
    fn keep<T>(&mut self, result: Result<T, FlowError>) -> Option<T> {
        result.map_err(|error| self.refuse(error)).ok()
    }
}

/// A block of the flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// `InvokeLambdaFunction` that invokes a function.
    Invoke {
        function_arn: String,
        time_limit: Duration,
        asynchronous: bool,
        /// `LambdaInvocationAttributes`, static or `$.` references.
        attributes: Map<String, Value>,
        response: ResponseType,
    },
    /// `InvokeLambdaFunction` as *Load Lambda result*: the invocation named by
    /// `invocation` (a reference, `$.LambdaInvocation.InvocationId`).
    LoadResult {
        invocation: String,
        response: ResponseType,
    },
    Compare {
        value: String,
    },
    Message {
        prompt: Prompt,
    },
    Loop {
        count: u32,
    },
    SetAttributes {
        attributes: Map<String, Value>,
    },
    /// `Wait` until the asynchronous invocation `invocation` (a reference)
    /// has returned, or `time` has passed, whichever comes first.
    Wait {
        time: WaitTime,
        invocation: String,
    },
    End {
        how: String,
        /// `TransferToFlow`'s `ContactFlowId`.
        target: Option<String>,
    },
}

/// A Wait's `TimeoutSeconds`: "either statically defined, or a single valid
/// JSONPath identifier" (the flow language's Wait).
#[derive(Debug, Clone, PartialEq)]
pub enum WaitTime {
    Static(Duration),
    /// Read when the block plays ([`unpublished::wait_time`]).
    Reference(String),
}

#[derive(Debug, Clone)]
struct Action {
    block: Block,
    next: Option<String>,
    /// `(operator, operand, next action)`.
    conditions: Vec<(String, String, String)>,
    /// `(error type, next action)`.
    errors: Vec<(String, String)>,
}

impl Action {
    /// Every action this one can go to: its next, its conditions', its errors'.
    fn targets(&self) -> impl Iterator<Item = &str> {
        let conditions = self.conditions.iter().map(|(_, _, to)| to.as_str());
        let errors = self.errors.iter().map(|(_, to)| to.as_str());
        self.next
            .as_deref()
            .into_iter()
            .chain(conditions)
            .chain(errors)
    }
}

/// A contact flow, read and checked.
#[derive(Debug, Clone)]
pub struct Flow {
    start: String,
    actions: HashMap<String, Action>,
    kind: FlowType,
}

impl Flow {
    /// Reads a flow and checks it against the reference; every refusal if it
    /// breaks any rule.
    pub fn parse(text: &str) -> Result<Self, Refused> {
        parse::flow(text)
    }

    /// The flow type it was checked as.
    pub fn kind(&self) -> FlowType {
        self.kind
    }

    /// Every Lambda function the flow invokes.
    pub fn functions(&self) -> Vec<&str> {
        let mut arns: Vec<&str> = self
            .actions
            .values()
            .filter_map(|a| match &a.block {
                Block::Invoke { function_arn, .. } => Some(function_arn.as_str()),
                _ => None,
            })
            .collect();
        arns.sort_unstable();
        arns.dedup();
        arns
    }

    /// The invocation that opens the run: the first Lambda block reached from
    /// the start (breadth first, every transition), as its function ARN (a
    /// reference, a placeholder or a name) and whether it is asynchronous.
    pub fn opening(&self) -> Option<(&str, bool)> {
        let mut seen = std::collections::HashSet::from([self.start.as_str()]);
        let mut queue = std::collections::VecDeque::from([self.start.as_str()]);
        while let Some(at) = queue.pop_front() {
            let action = &self.actions[at];
            if let Block::Invoke {
                function_arn,
                asynchronous,
                ..
            } = &action.block
            {
                return Some((function_arn, *asynchronous));
            }
            for to in action.targets() {
                if seen.insert(to) {
                    queue.push_back(to);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
