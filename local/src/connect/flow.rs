//! Amazon Connect's flow language, as much of it as the integration flow in
//! `infra/contact-flows/` uses, and an interpreter that plays it: so the contact
//! simulator walks the very flow a contact centre imports, not a copy of its logic.
//!
//! Supported blocks: `InvokeLambdaFunction` (results under `$.External`),
//! `Compare` (`Equals` on `$.External.*` or `$.Attributes.*`), `MessageParticipant`,
//! `Loop`, `UpdateContactAttributes`, `Wait`, and the blocks that end a flow
//! (`DisconnectParticipant`, `EndFlowExecution`, `TransferContactToQueue`,
//! `TransferToFlow`). Any other block is refused when the flow is read, by name.

use std::{collections::HashMap, time::Duration};

use serde::Deserialize;
use serde_json::{Map, Value};

pub use play::{play, Contact, Ending};

mod play;

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the contact flow is not valid JSON in Connect's flow language: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("block {id} has type {kind}, which the simulator does not play")]
    Unsupported { id: String, kind: String },
    #[error("block {id} lacks parameter {parameter}")]
    MissingParameter { id: String, parameter: &'static str },
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
    Invoke {
        function_arn: String,
        time_limit: Duration,
    },
    Compare {
        value: String,
    },
    Message {
        text: String,
    },
    Loop {
        count: u32,
    },
    SetAttributes {
        attributes: Map<String, Value>,
    },
    Wait {
        time: Duration,
    },
    End {
        how: String,
    },
}

#[derive(Debug, Clone)]
struct Action {
    block: Block,
    next: Option<String>,
    conditions: Vec<(String, String, String)>,
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
            let block = block(&action)?;
            let t = action.transitions;
            actions.insert(
                action.identifier,
                Action {
                    block,
                    next: t.next_action,
                    conditions: t
                        .conditions
                        .into_iter()
                        .map(|c| {
                            let operand =
                                c.condition.operands.into_iter().next().unwrap_or_default();
                            (c.condition.operator, operand, c.next_action)
                        })
                        .collect(),
                    errors: t
                        .errors
                        .into_iter()
                        .map(|e| (e.error_type, e.next_action))
                        .collect(),
                },
            );
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
}

fn block(action: &ActionShape) -> Result<Block, FlowError> {
    let id = &action.identifier;
    let text = |name: &'static str| {
        action
            .parameters
            .get(name)
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
            .ok_or_else(|| FlowError::MissingParameter {
                id: id.clone(),
                parameter: name,
            })
    };
    let seconds = |value: String, parameter: &'static str| {
        value
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or(FlowError::MissingParameter {
                id: id.clone(),
                parameter,
            })
    };
    Ok(match action.kind.as_str() {
        "InvokeLambdaFunction" => Block::Invoke {
            function_arn: text("LambdaFunctionARN")?,
            time_limit: seconds(
                text("InvocationTimeLimitSeconds").unwrap_or_else(|_| "8".into()),
                "InvocationTimeLimitSeconds",
            )?,
        },
        "Compare" => Block::Compare {
            value: text("ComparisonValue")?,
        },
        "MessageParticipant" => Block::Message {
            text: text("Text").or_else(|_| text("SSML"))?,
        },
        "Loop" => Block::Loop {
            count: text("LoopCount")?
                .parse()
                .map_err(|_| FlowError::MissingParameter {
                    id: id.clone(),
                    parameter: "LoopCount",
                })?,
        },
        "UpdateContactAttributes" => Block::SetAttributes {
            attributes: action
                .parameters
                .get("Attributes")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        },
        "Wait" => Block::Wait {
            time: seconds(
                text("TimeoutSeconds").or_else(|_| text("Timeout"))?,
                "TimeoutSeconds",
            )?,
        },
        "DisconnectParticipant"
        | "EndFlowExecution"
        | "TransferContactToQueue"
        | "TransferToFlow" => Block::End {
            how: action.kind.clone(),
        },
        other => {
            return Err(FlowError::Unsupported {
                id: id.clone(),
                kind: other.to_owned(),
            })
        }
    })
}

#[cfg(test)]
mod tests;
