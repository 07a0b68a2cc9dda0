//! What the interpreter asks of a contact ([`Contact`]: invoke, wait, play),
//! how a play ends ([`Ending`]), and what the flow holds about the contact
//! across plays ([`Memory`]).
//!
//! The [`Memory`] outlives one play: the contact attributes, the last Lambda
//! answer (`$.External`), the last asynchronous invocation's id, and each Loop
//! block's count. Connect counts a Loop block's iterations per block (by its
//! Identifier) and resets them only when the loop reaches Done (the flow
//! language's Loop: "returns NotDone a number of times equal to the specified
//! loop count, then Done once, then reset"), so a contact that leaves a flow
//! mid-loop and comes back into it may find the count part-used: the simulator
//! keeps the counts across re-entry, as Connect may, so a flow that relies on
//! fresh counts shows it.

use std::{collections::HashMap, future::Future, time::Duration};

use serde_json::{Map, Value};

use super::ResponseType;

/// A Lambda invocation the flow asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Call<'a> {
    pub function_arn: &'a str,
    /// The block's `InvocationTimeLimitSeconds`: for all attempts together,
    /// from the first ([`super::retry`]).
    pub time_limit: Duration,
    /// `LambdaInvocationAttributes`, resolved: the event's `Details.Parameters`.
    pub parameters: Map<String, Value>,
}

/// How a wait for an asynchronous invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The invocation returned during the wait.
    Returned,
    /// It had returned before the wait began (what then is
    /// [`super::unpublished::AN_EARLIER_RETURN_ENDS_A_WAIT`]).
    AlreadyReturned,
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
    pub(super) fn resolved(&self, memory: &Memory) -> Option<Prompt> {
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
    /// Invokes a function synchronously, retried as Connect retries
    /// ([`super::retry::invoke`]): the answer's payload as the Invoke API
    /// returned it, or `Err` for the error branch (the last attempt failed, or
    /// the block's time limit ran out). The flow reads the payload itself.
    fn invoke(&mut self, call: Call<'_>) -> impl Future<Output = Result<Vec<u8>, String>>;
    /// Starts an asynchronous invocation (retried the same way, while the flow
    /// goes on); its id, or `Err` for the error branch.
    fn invoke_async(&mut self, call: Call<'_>) -> impl Future<Output = Result<String, String>>;
    /// Waits up to `time` for the asynchronous invocation `id` to return.
    /// `None`, or an id the contact does not know, waits out the time: "If the
    /// wrong Invocation ID is provided to the Wait block, it continues to wait
    /// until the Set timeout" (the Administrator Guide, "Flow block in Amazon
    /// Connect: Wait").
    fn wait_for_lambda(&mut self, id: Option<&str>, time: Duration)
        -> impl Future<Output = Waited>;
    /// The payload of the finished asynchronous invocation `id`; `Err` for the
    /// error branch (it failed, timed out, or has not finished).
    fn load_result(&mut self, id: &str) -> impl Future<Output = Result<Vec<u8>, String>>;
    /// Plays a prompt; `false` if the caller hung up during it.
    fn play(&mut self, prompt: &Prompt) -> impl Future<Output = bool>;
    /// Plays a prompt on a keep-running Wait's Continue branch, cut short when
    /// the asynchronous invocation `id` returns or `time` (what is left of the
    /// Wait's) runs out; `false` if the caller hung up during it. By default
    /// played whole, for a contact that cannot tell.
    fn play_while_waiting(
        &mut self,
        prompt: &Prompt,
        _id: Option<&str>,
        _time: Duration,
    ) -> impl Future<Output = bool> {
        self.play(prompt)
    }
    /// Whether the asynchronous invocation `id` has returned, now (what a
    /// keep-running Wait listens for). By default never.
    fn has_returned(&self, _id: &str) -> bool {
        false
    }
    /// How the flow read what the last `invoke` or `load_result` gave: the
    /// answer it put under `$.External`, or why the block erred. For the
    /// contact's own record; nothing by default.
    fn answer_read(&mut self, _read: Result<&Map<String, Value>, &str>) {}
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
    /// `block` erred and no branch of it took the error
    /// ([`super::unpublished::unhandled`]).
    Unhandled { block: String, error: String },
}

/// The contact's channel, `$.Channel`: what may be played to it and how its
/// Waits end ([`Channel::may_play`], [`Channel::hears_lambda_return`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    #[default]
    Voice,
    Chat,
    Task,
}

impl Channel {
    /// As Connect names it in `$.Channel` and the event's `Channel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "VOICE",
            Channel::Chat => "CHAT",
            Channel::Task => "TASK",
        }
    }

    /// Whether a `MessageParticipant` of `prompt` can reach this contact:
    /// "\"PromptId\" and \"SSML\" are only supported for the voice channel.
    /// All other channels support only the \"Text\" option" (the flow
    /// language's MessageParticipant); a task has no participant to message
    /// ([`super::unpublished::A_TASK_IS_MESSAGED`]).
    pub fn may_play(self, prompt: &Prompt) -> bool {
        match self {
            Channel::Voice => true,
            Channel::Chat => matches!(prompt, Prompt::Text(_)),
            Channel::Task => super::unpublished::A_TASK_IS_MESSAGED,
        }
    }

    /// Whether a Wait hears an invocation's return (or runs its Continue
    /// branch): on a task, the Wait "always branches to Time Expired or
    /// Error" (the Administrator Guide, "Flow block in Amazon Connect: Wait",
    /// Supported channels).
    pub fn hears_lambda_return(self) -> bool {
        self != Channel::Task
    }
}

/// What the flow holds about one contact, across every play of a flow.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// The contact's channel: `$.Channel`.
    pub channel: Channel,
    /// The last Lambda answer: `$.External`.
    pub external: Map<String, Value>,
    /// The contact attributes: `$.Attributes`.
    pub attributes: Map<String, Value>,
    /// Each Loop block's iterations so far, by its Identifier.
    pub(super) loops: HashMap<String, u32>,
    /// The last asynchronous invocation: `$.LambdaInvocation.InvocationId`.
    pub(super) invocation: Option<String>,
    /// Each asynchronous invocation's `ResponseValidation`, by its id.
    pub(super) responses: HashMap<String, ResponseType>,
}

impl Memory {
    /// The count Loop block `id` has reached.
    pub fn loop_count(&self, id: &str) -> u32 {
        self.loops.get(id).copied().unwrap_or(0)
    }

    /// `$.External.Key` (or `$.External.Key.Inner` into a JSON answer),
    /// `$.Attributes.Key`, `$.Channel` or `$.LambdaInvocation.InvocationId` (`None` when
    /// absent or not a string); other `$.` references are data the simulator
    /// does not hold (`None`); any other text is itself.
    pub fn lookup(&self, reference: &str) -> Option<String> {
        if let Some(path) = reference.strip_prefix("$.External.") {
            let mut keys = path.split('.');
            let first = self.external.get(keys.next()?)?;
            keys.try_fold(first, |value, key| value.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else if let Some(key) = reference.strip_prefix("$.Attributes.") {
            self.attributes
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else if reference == "$.Channel" {
            Some(self.channel.as_str().to_owned())
        } else if reference == "$.LambdaInvocation.InvocationId" {
            self.invocation.clone()
        } else if reference.starts_with("$.") {
            None
        } else {
            Some(reference.to_owned())
        }
    }

    /// Each value of `map`, looked up where it is a reference (absent ones left out).
    pub(super) fn resolve(&self, map: &Map<String, Value>) -> Map<String, Value> {
        map.iter()
            .filter_map(|(key, value)| match value.as_str() {
                Some(text) => self.lookup(text).map(|v| (key.clone(), Value::String(v))),
                None => Some((key.clone(), value.clone())),
            })
            .collect()
    }
}
