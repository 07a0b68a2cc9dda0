//! Amazon Connect's flow language, as much of it as the integration flow in
//! `infra/contact-flows/` uses, and an interpreter that plays it: so the contact
//! simulator walks the very flow a contact centre imports, not a copy of its logic.
//!
//! Supported blocks: `InvokeLambdaFunction` (results under `$.External`),
//! `Compare` (`Equals` on `$.External.*` or `$.Attributes.*`), `MessageParticipant`,
//! `Loop`, `UpdateContactAttributes`, `Wait`, and the blocks that end a flow
//! (`DisconnectParticipant`, `EndFlowExecution`, `TransferContactToQueue`,
//! `TransferToFlow`). Any other block is refused when the flow is read, by name.

use std::{collections::HashMap, future::Future, time::Duration};

use serde::Deserialize;
use serde_json::{Map, Value};

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

/// What the flow does to the contact, for the contact to carry out and time.
pub trait Contact {
    /// Invokes `function_arn` synchronously; `Err` is the Lambda error branch
    /// (the function failed, or did not answer within `time_limit`).
    fn invoke(
        &mut self,
        function_arn: &str,
        time_limit: Duration,
    ) -> impl Future<Output = Result<Map<String, Value>, String>>;
    /// Plays a prompt; `false` if the caller hung up during it.
    fn play(&mut self, text: &str) -> impl Future<Output = bool>;
    fn wait(&mut self, time: Duration) -> impl Future<Output = bool>;
}

/// How the flow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// An ending block, by type.
    Block(String),
    /// The caller hung up.
    HungUp,
}

/// Plays the flow for `contact` until an ending block or a hang-up.
pub async fn play(flow: &Flow, contact: &mut impl Contact) -> Result<Ending, FlowError> {
    const MAX_STEPS: usize = 10_000;
    let mut player = Player::default();
    let mut at = flow.start.as_str();
    for _ in 0..MAX_STEPS {
        match player.step(at, &flow.actions[at], contact).await {
            Step::Next(Some(next)) => at = next,
            Step::Next(None) => return Ok(Ending::Block("end of flow".into())),
            Step::Ended(ending) => return Ok(ending),
        }
    }
    Err(FlowError::Endless(MAX_STEPS))
}

/// Where a block leads: the next block (`None`: the flow has no next), or
/// the flow's end.
enum Step<'a> {
    Next(Option<&'a str>),
    Ended(Ending),
}

/// What the flow holds while it plays: the last Lambda answer (`$.External`),
/// the contact attributes, and each Loop block's count.
#[derive(Default)]
struct Player<'a> {
    external: Map<String, Value>,
    attributes: Map<String, Value>,
    loops: HashMap<&'a str, u32>,
}

impl<'a> Player<'a> {
    /// Plays the block `at`.
    async fn step(
        &mut self,
        at: &'a str,
        action: &'a Action,
        contact: &mut impl Contact,
    ) -> Step<'a> {
        let next = action.next.as_deref();
        let hung_up = |stayed: bool| {
            if stayed {
                Step::Next(next)
            } else {
                Step::Ended(Ending::HungUp)
            }
        };
        match &action.block {
            Block::Invoke {
                function_arn,
                time_limit,
            } => match contact.invoke(function_arn, *time_limit).await {
                Ok(answer) => {
                    self.external = answer;
                    Step::Next(next)
                }
                Err(_) => Step::Next(action.error("NoMatchingError")),
            },
            Block::Compare { value } => Step::Next(self.compare(action, value)),
            Block::Message { text } => hung_up(contact.play(text).await),
            Block::Wait { time } => hung_up(contact.wait(*time).await),
            Block::Loop { count } => Step::Next(self.count(at, action, *count)),
            Block::SetAttributes { attributes } => {
                self.set(attributes);
                Step::Next(next)
            }
            Block::End { how } => Step::Ended(Ending::Block(how.clone())),
        }
    }

    /// A Compare block: the first `Equals` condition the value meets.
    fn compare(&self, action: &'a Action, value: &str) -> Option<&'a str> {
        let value = lookup(value, &self.external, &self.attributes);
        action
            .conditions
            .iter()
            .find(|(op, operand, _)| op == "Equals" && value.as_deref() == Some(operand.as_str()))
            .map(|(_, _, to)| to.as_str())
            .or_else(|| action.error("NoMatchingCondition"))
            .or(action.next.as_deref())
    }

    /// A Loop block: continues `count` times, then is done, and starts over.
    fn count(&mut self, at: &'a str, action: &'a Action, count: u32) -> Option<&'a str> {
        let done = self.loops.entry(at).or_insert(0);
        let outcome = if *done < count {
            *done += 1;
            "ContinueLooping"
        } else {
            *done = 0;
            "DoneLooping"
        };
        action
            .conditions
            .iter()
            .find(|(_, operand, _)| operand == outcome)
            .map(|(_, _, to)| to.as_str())
            .or(action.next.as_deref())
    }

    /// A SetAttributes block: each value, looked up when it names one.
    fn set(&mut self, attributes: &Map<String, Value>) {
        for (key, value) in attributes {
            let value = match value.as_str() {
                Some(text) => lookup(text, &self.external, &self.attributes)
                    .map(Value::String)
                    .unwrap_or_else(|| value.clone()),
                None => value.clone(),
            };
            self.attributes.insert(key.clone(), value);
        }
    }
}

impl Action {
    /// Where the error `kind` leads, or the block's first error branch.
    fn error(&self, kind: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(error, _)| error == kind)
            .or_else(|| self.errors.first())
            .map(|(_, to)| to.as_str())
    }
}

/// `$.External.Key` or `$.Attributes.Key`; other text is itself.
fn lookup(
    reference: &str,
    external: &Map<String, Value>,
    attributes: &Map<String, Value>,
) -> Option<String> {
    let value = if let Some(key) = reference.strip_prefix("$.External.") {
        external.get(key)
    } else if let Some(key) = reference.strip_prefix("$.Attributes.") {
        attributes.get(key)
    } else {
        return Some(reference.to_owned());
    };
    value.and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// start; DONE goes on; otherwise a message and check-timeout, twice at most.
    fn flow() -> Flow {
        let invoke = |id: &str, next: &str| {
            json!({"Identifier": id, "Type": "InvokeLambdaFunction",
                   "Parameters": {"LambdaFunctionARN": id, "InvocationTimeLimitSeconds": "8"},
                   "Transitions": {"NextAction": next, "Errors": [{"NextAction": "failed", "ErrorType": "NoMatchingError"}]}})
        };
        let text = json!({
            "Version": "2019-10-30",
            "StartAction": "start",
            "Actions": [
                invoke("start", "status"),
                {"Identifier": "status", "Type": "Compare", "Parameters": {"ComparisonValue": "$.External.IntegrationStatus"},
                 "Transitions": {"NextAction": "hold", "Conditions": [
                     {"NextAction": "done", "Condition": {"Operator": "Equals", "Operands": ["DONE"]}}],
                     "Errors": [{"NextAction": "hold", "ErrorType": "NoMatchingCondition"}]}},
                {"Identifier": "hold", "Type": "MessageParticipant", "Parameters": {"Text": "Please hold"}, "Transitions": {"NextAction": "loop"}},
                {"Identifier": "loop", "Type": "Loop", "Parameters": {"LoopCount": "2"}, "Transitions": {"Conditions": [
                    {"NextAction": "check", "Condition": {"Operator": "Equals", "Operands": ["ContinueLooping"]}},
                    {"NextAction": "failed", "Condition": {"Operator": "Equals", "Operands": ["DoneLooping"]}}]}},
                invoke("check", "status"),
                {"Identifier": "done", "Type": "UpdateContactAttributes", "Parameters": {"Attributes": {"Result": "$.External.IntegrationStatus"}}, "Transitions": {"NextAction": "end"}},
                {"Identifier": "failed", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
                {"Identifier": "end", "Type": "TransferToFlow", "Parameters": {}, "Transitions": {}}
            ]
        });
        Flow::parse(&text.to_string()).unwrap()
    }

    /// Answers invocations from a script; records what happened.
    struct Scripted {
        answers: Vec<Result<&'static str, &'static str>>,
        log: Vec<String>,
        hang_up: bool,
    }

    impl Contact for Scripted {
        async fn invoke(
            &mut self,
            function_arn: &str,
            _: Duration,
        ) -> Result<Map<String, Value>, String> {
            self.log.push(function_arn.to_owned());
            let answer = self.answers.remove(0);
            answer
                .map(|status| {
                    json!({"IntegrationStatus": status})
                        .as_object()
                        .unwrap()
                        .clone()
                })
                .map_err(str::to_owned)
        }
        async fn play(&mut self, text: &str) -> bool {
            self.log.push(format!("♪ {text}"));
            !self.hang_up
        }
        async fn wait(&mut self, _: Duration) -> bool {
            true
        }
    }

    async fn play_with(
        answers: Vec<Result<&'static str, &'static str>>,
        hang_up: bool,
    ) -> (Ending, Vec<String>) {
        let mut contact = Scripted {
            answers,
            log: Vec::new(),
            hang_up,
        };
        let ending = play(&flow(), &mut contact).await.unwrap();
        (ending, contact.log)
    }

    #[tokio::test]
    async fn done_inside_start_goes_straight_on() {
        let (ending, log) = play_with(vec![Ok("DONE")], false).await;
        assert_eq!(ending, Ending::Block("TransferToFlow".into()));
        assert_eq!(log, ["start"]);
    }

    #[tokio::test]
    async fn an_open_run_hears_the_message_and_loops_on_check_timeout() {
        let (ending, log) = play_with(vec![Ok("RUN"), Ok("RUN"), Ok("DONE")], false).await;
        assert_eq!(ending, Ending::Block("TransferToFlow".into()));
        assert_eq!(
            log,
            ["start", "♪ Please hold", "check", "♪ Please hold", "check"]
        );
    }

    #[tokio::test]
    async fn loops_end_and_lambda_errors_take_the_error_branch() {
        let (ending, _) = play_with(vec![Ok("RUN"), Ok("RUN"), Ok("RUN")], false).await;
        assert_eq!(
            ending,
            Ending::Block("DisconnectParticipant".into()),
            "the loop gave up"
        );
        let (ending, log) = play_with(vec![Err("timed out")], false).await;
        assert_eq!(ending, Ending::Block("DisconnectParticipant".into()));
        assert_eq!(log, ["start"]);
        let (ending, _) = play_with(vec![Ok("RUN")], true).await;
        assert_eq!(ending, Ending::HungUp);
    }

    #[test]
    fn unknown_blocks_and_dangling_transitions_are_refused_by_name() {
        let unknown =
            r#"{"StartAction": "a", "Actions": [{"Identifier": "a", "Type": "GetCustomerInput"}]}"#;
        let err = Flow::parse(unknown).unwrap_err();
        assert!(err.to_string().contains("GetCustomerInput"), "{err}");
        let dangling = r#"{"StartAction": "a", "Actions": [{"Identifier": "a", "Type": "MessageParticipant",
            "Parameters": {"Text": "hi"}, "Transitions": {"NextAction": "nowhere"}}]}"#;
        assert!(matches!(
            Flow::parse(dangling),
            Err(FlowError::DanglingTransition { .. })
        ));
    }
}
