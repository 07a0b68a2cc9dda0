//! Each block's parameters, read and held to what the flow language allows.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{Action, ActionShape, Block, FlowError, Prompt, LAMBDA_RETURNED, WAIT_COMPLETED};

/// The longest `InvocationTimeLimitSeconds` of a synchronous invocation, and
/// of an asynchronous one (the Administrator Guide: "maximum of 8 seconds for
/// Synchronous mode and 60 seconds for Asynchronous mode").
const SYNC_LIMIT_S: f64 = 8.0;
const ASYNC_LIMIT_S: f64 = 60.0;

/// A block's parameters, and who to blame for a bad one.
struct Params<'a> {
    id: &'a str,
    map: &'a Map<String, Value>,
}

impl Params<'_> {
    /// A parameter as text (a number given bare counts as its digits).
    fn text(&self, name: &'static str) -> Result<String, FlowError> {
        self.map
            .get(name)
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
            .ok_or_else(|| FlowError::MissingParameter {
                id: self.id.to_owned(),
                parameter: name,
            })
    }

    fn invalid(&self, problem: impl Into<String>) -> FlowError {
        FlowError::Invalid {
            id: self.id.to_owned(),
            problem: problem.into(),
        }
    }

    /// Seconds between 0 (exclusive unless `zero`) and `most`.
    fn seconds(&self, name: &'static str, most: f64) -> Result<Duration, FlowError> {
        let text = self.text(name)?;
        text.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= most)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                self.invalid(format!(
                    "{name} {text:?} is not a number of seconds from 1 to {most}"
                ))
            })
    }

    fn object(&self, name: &str) -> Map<String, Value> {
        self.map
            .get(name)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }
}

/// The block of `action`, or why the simulator cannot play it.
pub(super) fn block(action: &ActionShape) -> Result<Block, FlowError> {
    let p = Params {
        id: &action.identifier,
        map: &action.parameters,
    };
    Ok(match action.kind.as_str() {
        "InvokeLambdaFunction" => lambda(&p)?,
        "Compare" => Block::Compare {
            value: p.text("ComparisonValue")?,
        },
        "MessageParticipant" => Block::Message {
            prompt: prompt(&p)?,
        },
        "Loop" => Block::Loop {
            count: p
                .text("LoopCount")?
                .parse()
                .ok()
                .filter(|n| *n <= 100)
                .ok_or_else(|| p.invalid("LoopCount is not a whole number from 0 to 100"))?,
        },
        "UpdateContactAttributes" => Block::SetAttributes {
            attributes: p.object("Attributes"),
        },
        "Wait" => wait(&p)?,
        "TransferToFlow" => Block::End {
            how: action.kind.clone(),
            target: Some(p.text("ContactFlowId")?),
        },
        "DisconnectParticipant" | "EndFlowExecution" | "TransferContactToQueue" => Block::End {
            how: action.kind.clone(),
            target: None,
        },
        other => {
            return Err(FlowError::Unsupported {
                id: action.identifier.clone(),
                kind: other.to_owned(),
            })
        }
    })
}

/// `InvokeLambdaFunction`: an invocation, or *Load Lambda result*.
fn lambda(p: &Params) -> Result<Block, FlowError> {
    if let Ok(invocation) = p.text("LambdaInvocationId") {
        if p.map.contains_key("LambdaFunctionARN") {
            return Err(p.invalid("names both a function and an invocation to load"));
        }
        return Ok(Block::LoadResult { invocation });
    }
    let asynchronous = match p.map.get("InvocationType").and_then(Value::as_str) {
        None | Some("SYNCHRONOUS") => false,
        Some("ASYNCHRONOUS") => true,
        Some(other) => return Err(p.invalid(format!("InvocationType {other:?}"))),
    };
    let most = if asynchronous {
        ASYNC_LIMIT_S
    } else {
        SYNC_LIMIT_S
    };
    let time_limit = if p.map.contains_key("InvocationTimeLimitSeconds") {
        p.seconds("InvocationTimeLimitSeconds", most)?
    } else {
        Duration::from_secs_f64(SYNC_LIMIT_S)
    };
    Ok(Block::Invoke {
        function_arn: p.text("LambdaFunctionARN")?,
        time_limit,
        asynchronous,
        attributes: p.object("LambdaInvocationAttributes"),
    })
}

/// `MessageParticipant`: exactly one of `Text`, `SSML` and `PromptId`.
fn prompt(p: &Params) -> Result<Prompt, FlowError> {
    if p.map.contains_key("Media") {
        return Err(p.invalid("plays Media, which the simulator does not"));
    }
    let given: Vec<Prompt> = [
        ("Text", Prompt::Text as fn(String) -> Prompt),
        ("SSML", Prompt::Ssml),
        ("PromptId", Prompt::Stored),
    ]
    .into_iter()
    .filter_map(|(name, make)| {
        p.map
            .get(name)
            .and_then(Value::as_str)
            .map(|v| make(v.to_owned()))
    })
    .collect();
    match <[Prompt; 1]>::try_from(given) {
        Ok([prompt]) => Ok(prompt),
        Err(_) => Err(p.invalid("needs exactly one of Text, SSML and PromptId")),
    }
}

/// `Wait`: a time, and the asynchronous invocation it may wait for.
fn wait(p: &Params) -> Result<Block, FlowError> {
    const A_WEEK_S: f64 = 604_800.0;
    let time = p.seconds("TimeoutSeconds", A_WEEK_S)?;
    let events: Vec<&str> = p
        .map
        .get("Events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(other) = events.iter().find(|e| **e != LAMBDA_RETURNED) {
        return Err(p.invalid(format!(
            "waits for the event {other:?}, which the simulator does not play"
        )));
    }
    let lambda = match events.is_empty() {
        true => None,
        false => Some(p.text("LambdaInvocationId")?),
    };
    Ok(Block::Wait { time, lambda })
}

/// The conditions a block may have: `Equals` only, a Loop's two results, and
/// a Wait's `WaitCompleted` and events, each required.
pub(super) fn check_conditions(id: &str, action: &Action) -> Result<(), FlowError> {
    let invalid = |problem: String| FlowError::Invalid {
        id: id.to_owned(),
        problem,
    };
    if let Some((op, ..)) = action.conditions.iter().find(|(op, ..)| op != "Equals") {
        return Err(invalid(format!("the operator {op} is not played")));
    }
    let required: &[&str] = match &action.block {
        Block::Loop { .. } => &["ContinueLooping", "DoneLooping"],
        Block::Wait {
            lambda: Some(_), ..
        } => &[LAMBDA_RETURNED, WAIT_COMPLETED],
        Block::Wait { lambda: None, .. } if action.conditions.is_empty() => return Ok(()),
        Block::Wait { lambda: None, .. } => &[WAIT_COMPLETED],
        Block::Compare { .. } => return Ok(()),
        _ if action.conditions.is_empty() => return Ok(()),
        _ => return Err(invalid("conditions on a block that has none".into())),
    };
    let operands: Vec<&str> = action
        .conditions
        .iter()
        .map(|(_, o, _)| o.as_str())
        .collect();
    match required.iter().find(|r| !operands.contains(r)) {
        Some(missing) => Err(invalid(format!("no condition for {missing}"))),
        None => match operands.iter().find(|o| !required.contains(o)) {
            Some(extra) => Err(invalid(format!(
                "a condition for {extra}, which it never gives"
            ))),
            None => Ok(()),
        },
    }
}
