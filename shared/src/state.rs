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

use crate::{runs::StatusRecord, IntegrationStatus};

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
    status: Option<StatusRecord>,
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
    pub fn new(values: BTreeMap<String, Value>, status: Option<StatusRecord>) -> Self {
        Self { values, status }
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
    pub fn status(&self) -> Option<&StatusRecord> {
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
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A state of the top-level keys of `values`, a JSON object, without a run.
    pub(crate) fn state(values: Value) -> ContactState {
        let values = values.as_object().unwrap().clone().into_iter().collect();
        ContactState::new(values, None)
    }

    #[test]
    fn stored_text_that_looks_like_json_is_parsed_and_other_text_is_kept() {
        assert_eq!(parse_stored(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(parse_stored(" [1,2] "), json!([1, 2]));
        assert_eq!(parse_stored("{not json}"), json!("{not json}"));
        assert_eq!(parse_stored("42"), json!("42"));
        assert_eq!(parse_stored("hello"), json!("hello"));
    }

    #[test]
    fn a_plain_key_sets_a_top_level_string() {
        let mut s = ContactState::default();
        let change = s.set("Name", json!("Ada")).unwrap();
        assert_eq!(
            change,
            ItemChange {
                what: "Name".into(),
                value: Some("Ada".into())
            }
        );
        assert_eq!(s.get_str("Name"), Some("Ada"));
    }

    #[test]
    fn a_dotted_key_writes_into_existing_json() {
        let mut s = state(json!({"customer": {"name": "Ada", "tier": "gold"}}));
        let change = s.set("customer.echoResult", json!("hi")).unwrap();
        assert_eq!(change.what, "customer");
        let stored: Value = serde_json::from_str(change.value.as_deref().unwrap()).unwrap();
        assert_eq!(
            stored,
            json!({"name": "Ada", "tier": "gold", "echoResult": "hi"})
        );
    }

    #[test]
    fn a_dotted_key_creates_new_json_with_arrays_for_numeric_segments() {
        let mut s = ContactState::default();
        let change = s.set("orders.1.id", json!("A-7")).unwrap();
        assert_eq!(change.what, "orders");
        assert_eq!(s.get("orders"), Some(&json!([null, {"id": "A-7"}])));
    }

    #[test]
    fn a_scalar_in_the_way_of_a_dotted_key_is_replaced() {
        let mut s = state(json!({"customer": "just text"}));
        s.set("customer.id", json!("c-1")).unwrap();
        assert_eq!(s.get("customer"), Some(&json!({"id": "c-1"})));
    }

    #[test]
    fn a_json_looking_string_is_stored_parsed() {
        let mut s = ContactState::default();
        s.set("customer", json!(r#"{"id": 7}"#)).unwrap();
        s.set("result.payload", json!("[1, 2]")).unwrap();
        assert_eq!(s.get("customer"), Some(&json!({"id": 7})));
        assert_eq!(s.get("result"), Some(&json!({"payload": [1, 2]})));
    }

    #[test]
    fn empty_or_null_values_delete_keys_and_paths() {
        let mut s = state(json!({"a": "x", "b": {"c": 1, "d": 2}, "e": [1, 2, 3]}));
        assert_eq!(
            s.set("a", json!("")).unwrap(),
            ItemChange {
                what: "a".into(),
                value: None
            }
        );
        assert_eq!(s.get("a"), None);
        s.set("b.c", Value::Null).unwrap();
        assert_eq!(s.get("b"), Some(&json!({"d": 2})));
        s.set("e.1", json!("")).unwrap();
        assert_eq!(s.get("e"), Some(&json!([1, null, 3])));
        // Deleting what is not there is no error and changes nothing.
        s.set("missing.path", Value::Null).unwrap();
        assert_eq!(s.get("missing"), None);
    }

    #[test]
    fn numbers_and_booleans_are_stored_as_their_json_text() {
        let mut s = ContactState::default();
        assert_eq!(
            s.set("Count", json!(3)).unwrap().value.as_deref(),
            Some("3")
        );
        assert_eq!(
            s.set("Flag", json!(true)).unwrap().value.as_deref(),
            Some("true")
        );
    }

    #[test]
    fn malformed_keys_are_refused_with_a_clear_error() {
        let mut s = ContactState::default();
        assert_eq!(s.set("", json!("x")), Err(StateError::EmptyKey));
        assert_eq!(s.set("a..b", json!("x")), Err(StateError::EmptySegment));
        assert_eq!(s.set(".a", json!("x")), Err(StateError::EmptySegment));
        assert_eq!(s.set("a.", json!("x")), Err(StateError::EmptySegment));
        let deep = vec!["k"; MAX_KEY_SEGMENTS + 1].join(".");
        assert_eq!(s.set(&deep, json!("x")), Err(StateError::TooDeep));
        assert!(matches!(
            s.set("a.99999999999999999999999", json!("x")),
            Err(StateError::IndexTooLarge { .. })
        ));
        assert!(matches!(
            s.set("a.10001", json!("x")),
            Err(StateError::IndexTooLarge { index: 10_001 })
        ));
        assert!(s.values().is_empty(), "a refused write changes nothing");
    }

    /// `[[…]]` nested `depth` levels.
    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn the_json_depth_limit_is_what_serde_json_reads_back() {
        assert!(serde_json::from_str::<Value>(&nested(MAX_JSON_DEPTH)).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(MAX_JSON_DEPTH + 1)).is_err());
    }

    #[test]
    fn a_write_nesting_deeper_than_stored_json_reads_back_is_refused() {
        let mut s = state(json!({"customer": {"id": 1}}));
        // 120 levels of arrays under a 10-segment key: 129 levels in the item.
        let key = format!("customer.{}", ["x"; 9].join("."));
        let deep: Value = serde_json::from_str(&nested(120)).unwrap();
        assert_eq!(
            s.set(&key, deep.clone()),
            Err(StateError::TooNested { depth: 129 })
        );
        assert_eq!(s.get("customer"), Some(&json!({"id": 1})), "unchanged");
        // At the limit it is written, and reads back as written.
        let change = s
            .set(&key, serde_json::from_str(&nested(118)).unwrap())
            .unwrap();
        let text = change.value.unwrap();
        assert_eq!(&parse_stored(&text), s.get("customer").unwrap());
        assert_eq!(depth(&deep), 120);
    }
}
