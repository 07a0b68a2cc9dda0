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
//! 60 s and *Load Lambda result* by the invocation's id,
//! `$.LambdaInvocation.InvocationId`; "Flow block: Wait": the event-based wait
//! for such an invocation). Supported:
//!
//! - `InvokeLambdaFunction`: synchronous (1–8 s) with its answer under
//!   `$.External`, or `InvocationType` `ASYNCHRONOUS` (1–60 s), which goes on
//!   at once and leaves the invocation's id in `$.LambdaInvocation.InvocationId`;
//!   `LambdaInvocationAttributes` are sent as the event's `Details.Parameters`.
//!   With `LambdaInvocationId` instead of a function, it is *Load Lambda
//!   result*: the finished invocation's answer under `$.External`.
//! - `Wait`: `TimeoutSeconds`, and with the event [`LAMBDA_RETURNED`] and a
//!   `LambdaInvocationId`, the event-based wait for an asynchronous invocation.
//! - `Compare` (`Equals`), `MessageParticipant` (`Text`, `SSML` or `PromptId`,
//!   static or `$.` references), `Loop`, `UpdateContactAttributes`, and the
//!   blocks that end a flow (`DisconnectParticipant`, `EndFlowExecution`,
//!   `TransferContactToQueue`, `TransferToFlow`).
//!
//! The flow-language JSON of the two asynchronous pieces (the Wait's Lambda
//! event and *Load Lambda result*) is not published in the reference; the
//! parameter and event names here ([`LAMBDA_RETURNED`], `LambdaInvocationId`)
//! follow the Administrator Guide's names for them and are to be checked
//! against the console's own export of such a block before import.
//!
//! Any other block, operator or parameter shape is refused when the flow is
//! read, by name.

use std::{collections::HashMap, time::Duration};

use serde::Deserialize;
use serde_json::{Map, Value};

pub use play::{play, Call, Contact, Ending, Memory, Prompt, Waited};
pub use speech::Speech;

mod parse;
mod play;
mod speech;

/// The Wait block's event for an asynchronous Lambda invocation that has
/// finished (the Administrator Guide's *Lambda Return* branch).
pub const LAMBDA_RETURNED: &str = "LambdaReturned";
/// The Wait block's result when its time ran out.
pub const WAIT_COMPLETED: &str = "WaitCompleted";

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the contact flow is not valid JSON in Connect's flow language: {0}")]
    Shape(#[from] serde_json::Error),
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

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FlowShape {
    start_action: String,
    actions: Vec<ActionShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ActionShape {
    identifier: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    #[serde(default)]
    transitions: TransitionsShape,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct TransitionsShape {
    next_action: Option<String>,
    #[serde(default)]
    conditions: Vec<ConditionShape>,
    #[serde(default)]
    errors: Vec<ErrorShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConditionShape {
    next_action: String,
    condition: ConditionBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConditionBody {
    operator: String,
    operands: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorShape {
    next_action: String,
    error_type: String,
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
    },
    /// `InvokeLambdaFunction` as *Load Lambda result*: the invocation named by
    /// `invocation` (a reference, `$.LambdaInvocation.InvocationId`).
    LoadResult {
        invocation: String,
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
    /// `Wait`: for `time`, or until the asynchronous invocation `lambda` (a
    /// reference) has returned, whichever comes first.
    Wait {
        time: Duration,
        lambda: Option<String>,
    },
    End {
        how: String,
        /// `TransferToFlow`'s `ContactFlowId`.
        target: Option<String>,
    },
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

/// A contact flow, read and checked.
#[derive(Debug, Clone)]
pub struct Flow {
    start: String,
    actions: HashMap<String, Action>,
}

impl Flow {
    pub fn parse(text: &str) -> Result<Self, FlowError> {
        let shape: FlowShape = serde_json::from_str(text)?;
        let mut actions = HashMap::new();
        for action in shape.actions {
            let block = parse::block(&action)?;
            let id = action.identifier;
            let t = action.transitions;
            let conditions = t
                .conditions
                .into_iter()
                .map(|c| {
                    let operand = c.condition.operands.into_iter().next().unwrap_or_default();
                    (c.condition.operator, operand, c.next_action)
                })
                .collect();
            let action = Action {
                block,
                next: t.next_action,
                conditions,
                errors: t
                    .errors
                    .into_iter()
                    .map(|e| (e.error_type, e.next_action))
                    .collect(),
            };
            parse::check_conditions(&id, &action)?;
            actions.insert(id, action);
        }
        let flow = Self {
            start: shape.start_action,
            actions,
        };
        flow.check_transitions()?;
        Ok(flow)
    }

    fn check_transitions(&self) -> Result<(), FlowError> {
        let dangling = |from: &str, to: &str| FlowError::DanglingTransition {
            from: from.into(),
            to: to.into(),
        };
        if !self.actions.contains_key(&self.start) {
            return Err(dangling("StartAction", &self.start));
        }
        for (id, action) in &self.actions {
            let targets = action
                .next
                .iter()
                .chain(action.conditions.iter().map(|(_, _, to)| to))
                .chain(action.errors.iter().map(|(_, to)| to));
            for to in targets {
                if !self.actions.contains_key(to) {
                    return Err(dangling(id, to));
                }
            }
        }
        Ok(())
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

    /// Whether the flow starts with an asynchronous invocation (the native
    /// mode) rather than a synchronous one (start, then check-timeout).
    pub fn is_native(&self) -> bool {
        matches!(
            self.actions[&self.start].block,
            Block::Invoke {
                asynchronous: true,
                ..
            }
        )
    }

    /// The function the flow's first block invokes: the one that opens the run.
    pub fn opening_function(&self) -> Option<&str> {
        match &self.actions[&self.start].block {
            Block::Invoke { function_arn, .. } => Some(function_arn),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
