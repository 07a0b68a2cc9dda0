//! Playing a flow for one contact, block by block, as Connect does.
//!
//! What the flow holds about the contact lives in a [`Memory`] that outlives
//! one play: the contact attributes, the last Lambda answer (`$.External`),
//! the last asynchronous invocation's id, and each Loop block's count. Connect
//! counts a Loop block's iterations per block (by its Identifier) and resets
//! them only when the loop reaches Done (the flow language's Loop: "returns
//! NotDone a number of times equal to the specified loop count, then Done once,
//! then reset"), so a contact that leaves a flow mid-loop and comes back into it
//! may find the count part-used: the simulator keeps the counts across re-entry,
//! as Connect may, so a flow that relies on fresh counts shows it.

use std::{collections::HashMap, future::Future, time::Duration};

use serde_json::{Map, Value};

use super::{Action, Block, Flow, FlowError, LAMBDA_RETURNED, WAIT_COMPLETED};

/// A Lambda invocation the flow asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Call<'a> {
    pub function_arn: &'a str,
    pub time_limit: Duration,
    /// `LambdaInvocationAttributes`, resolved: the event's `Details.Parameters`.
    pub parameters: Map<String, Value>,
}

/// How a wait for an asynchronous invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The invocation has finished (or had before the wait began).
    Returned,
    /// The wait's time ran out first.
    TimedOut,
    HungUp,
}

/// What a `MessageParticipant` plays, with its references resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Text to speech.
    Text(String),
    /// SSML to speech.
    Ssml(String),
    /// A stored prompt, by id or ARN.
    Stored(String),
}

impl Prompt {
    fn resolved(&self, memory: &Memory) -> Option<Prompt> {
        let (make, value): (fn(String) -> Prompt, &str) = match self {
            Prompt::Text(v) => (Prompt::Text, v),
            Prompt::Ssml(v) => (Prompt::Ssml, v),
            Prompt::Stored(v) => (Prompt::Stored, v),
        };
        memory
            .lookup(value)
            .filter(|v| !v.trim().is_empty())
            .map(make)
    }
}

/// What the flow does to the contact, for the contact to carry out and time.
pub trait Contact {
    /// Invokes a function synchronously; `Err` is the Lambda error branch (the
    /// function failed, or did not answer within the call's time limit).
    fn invoke(
        &mut self,
        call: Call<'_>,
    ) -> impl Future<Output = Result<Map<String, Value>, String>>;
    /// Starts an asynchronous invocation; its id, or `Err` for the error branch.
    fn invoke_async(&mut self, call: Call<'_>) -> impl Future<Output = Result<String, String>>;
    /// Waits up to `time` for the asynchronous invocation `id` to finish.
    fn wait_for_lambda(&mut self, id: &str, time: Duration) -> impl Future<Output = Waited>;
    /// The answer of the finished asynchronous invocation `id`; `Err` for the
    /// error branch (it failed, timed out, or has not finished).
    fn load_result(&mut self, id: &str)
        -> impl Future<Output = Result<Map<String, Value>, String>>;
    /// Plays a prompt; `false` if the caller hung up during it.
    fn play(&mut self, prompt: &Prompt) -> impl Future<Output = bool>;
    /// A plain wait; `false` if the caller hung up during it.
    fn wait(&mut self, time: Duration) -> impl Future<Output = bool>;
}

/// How the flow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// An ending block, by type (or `end of flow` for a block with no next).
    Block(String),
    /// `TransferToFlow`, to the flow it names.
    Transfer(String),
    /// The caller hung up.
    HungUp,
}

/// What the flow holds about one contact, across every play of a flow.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// The last Lambda answer: `$.External`.
    pub external: Map<String, Value>,
    /// The contact attributes: `$.Attributes`.
    pub attributes: Map<String, Value>,
    /// Each Loop block's iterations so far, by its Identifier.
    loops: HashMap<String, u32>,
    /// The last asynchronous invocation: `$.LambdaInvocation.InvocationId`.
    invocation: Option<String>,
}

impl Memory {
    /// The count Loop block `id` has reached.
    pub fn loop_count(&self, id: &str) -> u32 {
        self.loops.get(id).copied().unwrap_or(0)
    }

    /// `$.External.Key`, `$.Attributes.Key` or `$.LambdaInvocation.InvocationId`
    /// (`None` when absent or not a string); other `$.` references are data
    /// the simulator does not hold (`None`); any other text is itself.
    pub fn lookup(&self, reference: &str) -> Option<String> {
        let from = |map: &Map<String, Value>, key: &str| {
            map.get(key).and_then(Value::as_str).map(str::to_owned)
        };
        if let Some(key) = reference.strip_prefix("$.External.") {
            from(&self.external, key)
        } else if let Some(key) = reference.strip_prefix("$.Attributes.") {
            from(&self.attributes, key)
        } else if reference == "$.LambdaInvocation.InvocationId" {
            self.invocation.clone()
        } else if reference.starts_with("$.") {
            None
        } else {
            Some(reference.to_owned())
        }
    }

    /// Each value of `map`, looked up where it is a reference (absent ones left out).
    fn resolve(&self, map: &Map<String, Value>) -> Map<String, Value> {
        map.iter()
            .filter_map(|(key, value)| match value.as_str() {
                Some(text) => self.lookup(text).map(|v| (key.clone(), Value::String(v))),
                None => Some((key.clone(), value.clone())),
            })
            .collect()
    }
}

/// Plays the flow for `contact` until an ending block or a hang-up.
pub async fn play(
    flow: &Flow,
    contact: &mut impl Contact,
    memory: &mut Memory,
) -> Result<Ending, FlowError> {
    const MAX_STEPS: usize = 10_000;
    let mut at = flow.start.as_str();
    for _ in 0..MAX_STEPS {
        let action = &flow.actions[at];
        match step(at, action, contact, memory).await {
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

/// Plays the block `at`.
async fn step<'a>(
    at: &'a str,
    action: &'a Action,
    contact: &mut impl Contact,
    memory: &mut Memory,
) -> Step<'a> {
    let next = action.next.as_deref();
    let failed = || Step::Next(action.error("NoMatchingError"));
    match &action.block {
        Block::Invoke {
            function_arn,
            time_limit,
            asynchronous,
            attributes,
        } => {
            let Some(function_arn) = memory.lookup(function_arn) else {
                return failed();
            };
            let call = Call {
                function_arn: &function_arn,
                time_limit: *time_limit,
                parameters: memory.resolve(attributes),
            };
            invoke(call, *asynchronous, action, contact, memory).await
        }
        Block::LoadResult { invocation } => match memory.lookup(invocation) {
            Some(id) => answered(contact.load_result(&id).await, memory, next, action),
            None => failed(),
        },
        Block::Compare { value } => Step::Next(compare(action, memory.lookup(value))),
        Block::Message { prompt } => match prompt.resolved(memory) {
            Some(prompt) if contact.play(&prompt).await => Step::Next(next),
            Some(_) => Step::Ended(Ending::HungUp),
            // Nothing to play: the block's error, else on.
            None => Step::Next(action.error("NoMatchingError").or(next)),
        },
        Block::Wait { time, lambda: None } => match contact.wait(*time).await {
            true => Step::Next(action.condition(WAIT_COMPLETED).or(next)),
            false => Step::Ended(Ending::HungUp),
        },
        Block::Wait {
            time,
            lambda: Some(reference),
        } => match memory.lookup(reference) {
            None => failed(),
            Some(id) => match contact.wait_for_lambda(&id, *time).await {
                Waited::Returned => Step::Next(action.condition(LAMBDA_RETURNED).or(next)),
                Waited::TimedOut => Step::Next(action.condition(WAIT_COMPLETED).or(next)),
                Waited::HungUp => Step::Ended(Ending::HungUp),
            },
        },
        Block::Loop { count } => {
            let done = memory.loops.entry(at.to_owned()).or_insert(0);
            let outcome = if *done < *count {
                *done += 1;
                "ContinueLooping"
            } else {
                *done = 0;
                "DoneLooping"
            };
            Step::Next(action.condition(outcome).or(next))
        }
        Block::SetAttributes { attributes } => {
            let set = memory.resolve(attributes);
            memory.attributes.extend(set);
            Step::Next(next)
        }
        Block::End { how, target } => Step::Ended(match target {
            Some(target) => Ending::Transfer(memory.lookup(target).unwrap_or_default()),
            None => Ending::Block(how.clone()),
        }),
    }
}

/// An `InvokeLambdaFunction` block's call: a synchronous one's answer under
/// `$.External`, an asynchronous one's id kept; a failure, the error branch.
async fn invoke<'a>(
    call: Call<'_>,
    asynchronous: bool,
    action: &'a Action,
    contact: &mut impl Contact,
    memory: &mut Memory,
) -> Step<'a> {
    let next = action.next.as_deref();
    if !asynchronous {
        return answered(contact.invoke(call).await, memory, next, action);
    }
    match contact.invoke_async(call).await {
        Ok(id) => {
            memory.invocation = Some(id);
            Step::Next(next)
        }
        Err(_) => Step::Next(action.error("NoMatchingError")),
    }
}

/// A synchronous answer: under `$.External`, then on; a failure: the error branch.
fn answered<'a>(
    answer: Result<Map<String, Value>, String>,
    memory: &mut Memory,
    next: Option<&'a str>,
    action: &'a Action,
) -> Step<'a> {
    match answer {
        Ok(answer) => {
            memory.external = answer;
            Step::Next(next)
        }
        Err(_) => Step::Next(action.error("NoMatchingError")),
    }
}

/// A Compare block: the first `Equals` condition the value meets, else its
/// `NoMatchingCondition` branch.
fn compare(action: &Action, value: Option<String>) -> Option<&str> {
    action
        .conditions
        .iter()
        .find(|(op, operand, _)| op == "Equals" && value.as_deref() == Some(operand.as_str()))
        .map(|(_, _, to)| to.as_str())
        .or_else(|| action.error("NoMatchingCondition"))
        .or(action.next.as_deref())
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

    /// Where the result `operand` leads.
    fn condition(&self, operand: &str) -> Option<&str> {
        self.conditions
            .iter()
            .find(|(_, o, _)| o == operand)
            .map(|(_, _, to)| to.as_str())
    }
}
