//! What Amazon Connect sends a Lambda function and what it accepts back.
//!
//! Connect's events carry null or missing endpoint fields that `aws_lambda_events`'
//! `ConnectEvent` rejects, so the few fields this project needs are read through a
//! lenient type of its own; the event as received is kept whole for the
//! integration request's `OriginalRequest`.
//!
//! Connect accepts only a flat map of strings, at most 32 KB, so an answer is built
//! from the contact's top-level string values with the integration keys first,
//! and keys that do not fit are left out by name.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    keys::{INTEGRATION_ERROR_CAUSE, INTEGRATION_STATUS},
    state::ContactState,
    ContactId, IdError, IntegrationStatus,
};

/// Connect's limit on a Lambda function's answer: 32 KB of UTF-8.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024;

/// Why an event cannot be read. Never echoes the event: it holds personal data.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// serde's message is kept as the source, never shown: it can quote a value
    /// of the event, such as the caller's phone number.
    #[error("the event is not shaped as Connect sends it")]
    Shape(#[source] serde_json::Error),
    #[error("the event has no Details.ContactData.InitialContactId or ContactId")]
    NoContactId,
    /// The id error is said in the message and not kept as a source as well, so
    /// that a chain of sources says it once.
    #[error("the event's contact id is invalid: {0}")]
    BadContactId(IdError),
}

/// What start and check-timeout can be invoked with.
#[derive(Debug, Clone)]
pub enum ConnectRequest {
    /// The Rules Engine's keep-warm ping: answered without touching state.
    KeepWarm(KeepWarm),
    /// A contact flow's invocation, with the event as received.
    Contact(ContactFlowEvent),
}

impl ConnectRequest {
    /// Whether `value` is meant for a function Connect invokes: a keep-warm ping,
    /// or an event with Connect's shape (a `Details` member, which holds
    /// `ContactData`), whatever its `Name`: Connect names its events
    /// `ContactFlowEvent`, Lambda's sample Connect events say
    /// `ContactFlowExecution`, and the name is not read. What it holds is for
    /// [`ConnectRequest::from_value`] to read, or to refuse by name.
    pub fn recognises(value: &Value) -> bool {
        value.get("keepWarm").is_some() || value.get("Details").is_some()
    }

    /// Reads a keep-warm ping or a contact flow event, the one reader of both for
    /// start, check-timeout and an integration function in native async mode.
    pub fn from_value(value: Value) -> Result<Self, EventError> {
        if let Some(ping) = value.get("keepWarm") {
            // A ping with odd fields is still a ping: answer it, never touch state.
            let ping = serde_json::from_value(ping.clone()).unwrap_or_default();
            return Ok(Self::KeepWarm(ping));
        }
        ContactFlowEvent::from_value(value).map(Self::Contact)
    }
}

/// `{"keepWarm": {"name", "arn"}}`, sent by the Rules Engine to keep functions warm.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct KeepWarm {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
}

impl KeepWarm {
    /// `{"keepWarm": {"id", "name", "arn", "coldStart", "runningTime"}}`: which
    /// instance answered, whether this was its first invocation, and how long it
    /// has been up (ms).
    pub fn reply(&self, instance: &Instance) -> Value {
        serde_json::json!({
            "keepWarm": {
                "id": instance.id,
                "name": self.name,
                "arn": self.arn,
                "coldStart": instance.take_cold_start(),
                "runningTime": instance.started.elapsed().as_millis() as u64,
            }
        })
    }
}

/// One running instance of a function (one Lambda execution environment).
#[derive(Debug)]
pub struct Instance {
    id: String,
    started: std::time::Instant,
    cold: std::sync::atomic::AtomicBool,
}

impl Instance {
    pub fn new() -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            started: std::time::Instant::now(),
            cold: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// True the first time it is asked, false after.
    pub fn take_cold_start(&self) -> bool {
        self.cold.swap(false, std::sync::atomic::Ordering::Relaxed)
    }
}

impl Default for Instance {
    fn default() -> Self {
        Self::new()
    }
}

/// A Connect contact flow event, read leniently: only what this project uses.
/// Its `Name` is not read (see [`ConnectRequest::recognises`]).
#[derive(Debug, Clone)]
pub struct ContactFlowEvent {
    /// The contact's state key: `InitialContactId`, else `ContactId`.
    pub contact_id: ContactId,
    /// `Details.Parameters`, the block's parameters (strings, as Connect sends them).
    pub parameters: BTreeMap<String, Value>,
    /// The event as received, for `OriginalRequest`.
    pub raw: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventShape {
    details: DetailsShape,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DetailsShape {
    contact_data: ContactDataShape,
    #[serde(default)]
    parameters: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContactDataShape {
    #[serde(default)]
    contact_id: Option<String>,
    #[serde(default)]
    initial_contact_id: Option<String>,
}

impl ContactFlowEvent {
    pub fn from_value(raw: Value) -> Result<Self, EventError> {
        let shape = EventShape::deserialize(&raw).map_err(EventError::Shape)?;
        let data = shape.details.contact_data;
        let id = [data.initial_contact_id, data.contact_id]
            .into_iter()
            .flatten()
            .find(|id| !id.is_empty())
            .ok_or(EventError::NoContactId)?;
        Ok(Self {
            contact_id: ContactId::parse(id).map_err(EventError::BadContactId)?,
            parameters: shape.details.parameters.unwrap_or_default(),
            raw,
        })
    }

    /// A parameter of the flow block, if it is a string.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).and_then(Value::as_str)
    }
}

/// A flat map of strings for Connect, and the keys that did not fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    values: Map<String, Value>,
    left_out: Vec<String>,
}

impl Answer {
    /// The contact's top-level string values, `IntegrationStatus` always, within
    /// [`MAX_ANSWER_BYTES`]. `Integration*` keys come first, then `CurrentRule*`,
    /// then the rest in key order; JSON values are left out, as the Rules Engine
    /// does, and so are keys past the limit (named in [`Answer::left_out`]).
    pub fn from_state(state: &ContactState) -> Self {
        let status = state
            .integration_status()
            .map(IntegrationStatus::as_str)
            // A state built without its status record: its text, if it is a status.
            // Any other text is no status for Connect to route on, and unchecked it
            // could take the answer past the 32 KB limit.
            .or_else(|| {
                state
                    .get_str(INTEGRATION_STATUS)
                    .and_then(|text| text.parse::<IntegrationStatus>().ok())
                    .map(IntegrationStatus::as_str)
            })
            .unwrap_or(IntegrationStatus::Error.as_str());
        let mut entries: Vec<(&str, &str)> = state
            .values()
            .iter()
            .filter(|(key, _)| key.as_str() != INTEGRATION_STATUS)
            .filter_map(|(key, value)| Some((key.as_str(), value.as_str()?)))
            .collect();
        entries.sort_by_key(|(key, _)| priority(key));
        let mut answer = Self::with_status(status);
        for (key, value) in entries {
            answer.push(key, value);
        }
        answer
    }

    /// `IntegrationStatus: ERROR` with a cause, for a problem the flow routes on
    /// (DynamoDB or Lambda unreachable, a bad event, a refused function).
    pub fn error(cause: &str) -> Self {
        let mut answer = Self::with_status(IntegrationStatus::Error.as_str());
        answer.push(INTEGRATION_ERROR_CAUSE, cause);
        answer
    }

    fn with_status(status: &str) -> Self {
        let mut values = Map::new();
        values.insert(INTEGRATION_STATUS.to_owned(), Value::String(status.into()));
        Self {
            values,
            left_out: Vec::new(),
        }
    }

    /// Adds `key` if the answer stays within the limit, else names it as left out.
    fn push(&mut self, key: &str, value: &str) {
        // `,"key":"value"`, with JSON escapes, as it will be sent.
        let added = 2 + json_len(key) + json_len(value);
        if self.size() + added <= MAX_ANSWER_BYTES {
            self.values
                .insert(key.to_owned(), Value::String(value.into()));
        } else {
            self.left_out.push(key.to_owned());
        }
    }

    /// The answer's size as JSON text, in bytes.
    pub fn size(&self) -> usize {
        // `{}` plus, per entry, `"key":"value"` and a comma between entries.
        let entries: usize = self
            .values
            .iter()
            .map(|(key, value)| json_len(key) + 1 + json_len(value.as_str().unwrap_or_default()))
            .sum();
        2 + entries + self.values.len().saturating_sub(1)
    }

    pub fn status(&self) -> &str {
        self.get(INTEGRATION_STATUS).unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_str)
    }

    /// Keys that were left out for the size limit.
    pub fn left_out(&self) -> &[String] {
        &self.left_out
    }

    /// The flat map Connect receives.
    pub fn into_value(self) -> Value {
        Value::Object(self.values)
    }
}

fn priority(key: &str) -> (u8, &str) {
    let rank = if key.starts_with("Integration") {
        0
    } else if key.starts_with("CurrentRule") {
        1
    } else {
        2
    };
    (rank, key)
}

/// The length of `text` as a JSON string literal, quotes and escapes included.
fn json_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests;
