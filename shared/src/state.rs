//! A contact's state as JSON values, and the Rules Engine's rules for writing keys.
//!
//! Stored values are strings; one that looks like JSON (`{…}` or `[…]`) and parses
//! is JSON. Writing a key follows the Rules Engine, which integration functions
//! rely on: a dotted key `a.b.c` sets a path inside the JSON held by the top-level
//! item `a` (numeric segments index arrays); a string that looks like JSON is
//! stored parsed; an empty or null value deletes. Only top-level items are written,
//! so every write comes back as the [`ItemChange`] of one top-level item.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{runs::StatusItem, IntegrationStatus, RunId};

/// The largest array index a dotted key may name. Arrays are padded with nulls up
/// to the index, as the Rules Engine (lodash `set`) does; without a bound a key
/// like `a.4294967295` would allocate gigabytes.
pub const MAX_ARRAY_INDEX: usize = 10_000;

/// How deep a dotted key may reach.
pub const MAX_KEY_SEGMENTS: usize = 32;

/// How deeply a stored value's JSON may nest: as deep as serde_json reads back.
/// Deeper text would read back as a plain string, and the next dotted write into
/// it would replace the whole item, so a write that nests deeper is refused.
pub const MAX_JSON_DEPTH: usize = 127;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("state key is empty")]
    EmptyKey,
    #[error("state key has an empty segment (leading, trailing or double dot)")]
    EmptySegment,
    #[error("state key has more than {MAX_KEY_SEGMENTS} segments")]
    TooDeep,
    #[error("array index {index} in state key is larger than {MAX_ARRAY_INDEX}")]
    IndexTooLarge { index: u64 },
    #[error("the value would nest {depth} levels deep in its item; stored JSON holds at most {MAX_JSON_DEPTH}")]
    TooNested { depth: usize },
}

/// A contact's whole state: every top-level key with its value, plus the typed
/// status record when the contact has one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactState {
    values: BTreeMap<String, Value>,
    status: Option<StatusItem>,
    activation_run: Option<RunId>,
}

/// A write to one top-level item: its new stored text, or `None` to delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemChange {
    pub what: String,
    pub value: Option<String>,
}

impl ItemChange {
    pub fn put(what: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            value: Some(value.into()),
        }
    }

    pub fn delete(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            value: None,
        }
    }
}

impl ContactState {
    pub fn new(values: BTreeMap<String, Value>, status: Option<StatusItem>) -> Self {
        Self {
            values,
            status,
            activation_run: None,
        }
    }

    /// The state with the run start opened for the current rule activation
    /// (the mark on [`crate::keys::RULE_START`]'s item), if any.
    pub fn with_activation_run(self, run: Option<RunId>) -> Self {
        Self {
            activation_run: run,
            ..self
        }
    }

    /// The run start opened for the rule activation the contact is in: set
    /// when start ran for this activation already (Connect retried it).
    pub fn activation_run(&self) -> Option<&RunId> {
        self.activation_run.as_ref()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// A top-level value as a string, if it is one.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_str)
    }

    pub fn values(&self) -> &BTreeMap<String, Value> {
        &self.values
    }

    /// The run recorded on the `IntegrationStatus` item, if any.
    pub fn status(&self) -> Option<&StatusItem> {
        self.status.as_ref()
    }

    pub fn integration_status(&self) -> Option<IntegrationStatus> {
        self.status.as_ref().map(|record| record.status)
    }

    /// Sets `key` to `value` with the Rules Engine's semantics and returns the
    /// change to write for the top-level item it touched.
    pub fn set(&mut self, key: &str, value: Value) -> Result<ItemChange, StateError> {
        let segments = split_key(key)?;
        let value = normalize(value);
        let (top, path) = segments
            .split_first()
            .expect("split_key returns at least one segment");
        if let Some(value) = &value {
            // Checked before anything is changed, like the key.
            let depth = path.len() + depth(value);
            if depth > MAX_JSON_DEPTH {
                return Err(StateError::TooNested { depth });
            }
        }
        match value {
            None if path.is_empty() => {
                self.values.remove(*top);
            }
            None => {
                if let Some(root) = self.values.get_mut(*top) {
                    remove_path(root, path);
                }
            }
            Some(value) if path.is_empty() => {
                self.values.insert((*top).to_owned(), value);
            }
            Some(value) => {
                let root = self.values.entry((*top).to_owned()).or_insert(Value::Null);
                set_path(root, path, value)?;
            }
        }
        Ok(ItemChange {
            what: (*top).to_owned(),
            value: self.values.get(*top).and_then(encode),
        })
    }
}

/// Parses a stored `Value`: JSON when it looks like a JSON object or array and
/// parses, otherwise the text itself.
pub fn parse_stored(text: &str) -> Value {
    let trimmed = text.trim();
    let looks_like_json = (trimmed.starts_with('{') && trimmed.ends_with('}'))
        || (trimmed.starts_with('[') && trimmed.ends_with(']'));
    if looks_like_json {
        if let Ok(value) = serde_json::from_str(trimmed) {
            return value;
        }
    }
    Value::String(text.to_owned())
}

/// How many arrays and objects deep `value` nests (a scalar: 0). Iterative: a
/// value built in code may nest deeper than the stack allows recursion.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0)];
    while let Some((node, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match node {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        stack.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

/// The text stored for a value; `None` for a value that deletes its key.
pub fn encode(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// A written value as the Rules Engine stores it: JSON-looking strings parsed,
/// empty strings and nulls mean "delete".
fn normalize(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(parse_stored(&text)),
        other => Some(other),
    }
}

fn split_key(key: &str) -> Result<Vec<&str>, StateError> {
    if key.is_empty() {
        return Err(StateError::EmptyKey);
    }
    let segments: Vec<&str> = key.split('.').collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        return Err(StateError::EmptySegment);
    }
    if segments.len() > MAX_KEY_SEGMENTS {
        return Err(StateError::TooDeep);
    }
    // Checked before anything is changed, so a refused key leaves the state as it was.
    for segment in &segments[1..] {
        array_index(segment)?;
    }
    Ok(segments)
}

/// A segment made only of digits indexes an array.
fn array_index(segment: &str) -> Result<Option<usize>, StateError> {
    if !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match segment.parse::<u64>() {
        Ok(index) if index <= MAX_ARRAY_INDEX as u64 => Ok(Some(index as usize)),
        Ok(index) => Err(StateError::IndexTooLarge { index }),
        Err(_) => Err(StateError::IndexTooLarge { index: u64::MAX }),
    }
}

fn set_path(node: &mut Value, path: &[&str], value: Value) -> Result<(), StateError> {
    let Some((segment, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    let child = match array_index(segment)? {
        Some(index) => {
            // Like lodash, a scalar (or an object) in the way is replaced by a
            // container of the kind the key asks for.
            if !node.is_array() {
                *node = Value::Array(Vec::new());
            }
            let items = node.as_array_mut().expect("made an array above");
            if items.len() <= index {
                items.resize(index + 1, Value::Null);
            }
            &mut items[index]
        }
        None => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let fields = node.as_object_mut().expect("made an object above");
            fields.entry((*segment).to_owned()).or_insert(Value::Null)
        }
    };
    set_path(child, rest, value)
}

fn remove_path(node: &mut Value, path: &[&str]) {
    let Some((segment, rest)) = path.split_first() else {
        return;
    };
    let last = rest.is_empty();
    match node {
        Value::Object(fields) if last => {
            fields.shift_remove(*segment);
        }
        Value::Object(fields) => {
            if let Some(child) = fields.get_mut(*segment) {
                remove_path(child, rest);
            }
        }
        Value::Array(items) => {
            let Ok(Some(index)) = array_index(segment) else {
                return;
            };
            match items.get_mut(index) {
                // An unset array element becomes a hole, which JSON writes as null.
                Some(child) if last => *child = Value::Null,
                Some(child) => remove_path(child, rest),
                None => {}
            }
        }
        _ => {}
    }
}

#[cfg(test)]
pub(crate) mod tests;
