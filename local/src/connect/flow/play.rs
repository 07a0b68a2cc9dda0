//! Playing a flow for one contact, block by block, as Connect does.

use std::{collections::HashMap, future::Future, time::Duration};

use serde_json::{Map, Value};

use super::{Action, Block, Flow, FlowError};

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
pub(super) fn lookup(
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
