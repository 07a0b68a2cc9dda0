//! State values and dotted keys: reading stored text, and writing a key with the
//! Rules Engine's semantics into a contact's state.

use std::collections::BTreeMap;

use proptest::{
    collection::{btree_map, vec},
    prelude::*,
    sample::select,
};
use serde_json::Value;
use shared::{
    state::{encode, parse_stored, StateError, MAX_ARRAY_INDEX, MAX_KEY_SEGMENTS},
    ContactState,
};

use crate::inputs::{hostile_string, hostile_value, json_looking_text, leaks, matching};

/// Top-level keys, few so that writes often land in JSON already there.
const TOPS: [&str; 5] = ["customer", "a", "__proto__", "orders", "EchoResult"];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(TOPS.to_vec()).prop_map(str::to_owned),
        3 => select(vec![
            "b", "constructor", "prototype", "__proto__", "0", "1", "01", "9999", "10000",
            "10001", "4294967296", "99999999999999999999", "-1", "1e3", " 1", "+1", "\u{663}",
            "é", " ", "null", "length",
        ])
        .prop_map(str::to_owned),
        1 => Just(String::new()),
        1 => matching("\\PC{1,6}"),
    ]
}

/// Dotted keys: mostly a few segments, sometimes past the depth limit, with
/// empty segments and stray dots now and then.
fn key() -> impl Strategy<Value = String> {
    // Chains of array indexes, at most 10,000 each, pad arrays with up to
    // 10,000 nulls per level: heavy, so rarer.
    let indexes = vec(
        select(vec!["0", "1", "2", "3", "9999", "10000"]).prop_map(str::to_owned),
        2..33,
    )
    .prop_map(|indexes| std::iter::once("a".to_owned()).chain(indexes).collect());
    let segments = prop_oneof![
        180 => vec(segment(), 1..5),
        20 => vec(segment(), 28..40),
        1 => indexes,
    ];
    (
        segments,
        select(vec!["", "", "", "", ".", ".."]),
        select(vec!["", "", "", "", ".", ".."]),
    )
        .prop_map(|(segments, before, after)| format!("{before}{}{after}", segments.join(".")))
}

/// A written value: any value, or text (JSON-looking text is stored parsed).
fn written() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => hostile_value(),
        2 => hostile_string().prop_map(Value::String),
        2 => json_looking_text().prop_map(Value::String),
    ]
}

/// A contact's state as loaded: stored text, parsed as the store parses it.
fn loaded() -> impl Strategy<Value = BTreeMap<String, Value>> {
    let stored = prop_oneof![
        hostile_string(),
        json_looking_text(),
        hostile_value().prop_map(|value| value.to_string()),
    ];
    btree_map(
        select(TOPS.to_vec()).prop_map(str::to_owned),
        stored.prop_map(|text| parse_stored(&text)),
        0..4,
    )
}

/// The refusal `key` deserves, worked out on its own.
fn expected_refusal(key: &str) -> Option<StateError> {
    if key.is_empty() {
        return Some(StateError::EmptyKey);
    }
    let segments: Vec<&str> = key.split('.').collect();
    if segments.contains(&"") {
        return Some(StateError::EmptySegment);
    }
    if segments.len() > MAX_KEY_SEGMENTS {
        return Some(StateError::TooDeep);
    }
    segments[1..]
        .iter()
        .filter(|segment| segment.bytes().all(|b| b.is_ascii_digit()))
        .map(|segment| segment.parse::<u64>().unwrap_or(u64::MAX))
        .find(|index| *index > MAX_ARRAY_INDEX as u64)
        .map(|index| StateError::IndexTooLarge { index })
}

/// What the Rules Engine stores for a written value: `None` deletes.
fn normalized(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(parse_stored(text)),
        other => Some(other.clone()),
    }
}

/// A top-level value as it reads back from its stored text: numbers and
/// booleans come back as their text, as in the Rules Engine.
fn read_back(value: &Value) -> Value {
    match value {
        Value::Number(_) | Value::Bool(_) => Value::String(value.to_string()),
        other => other.clone(),
    }
}

fn at_path<'a>(mut node: &'a Value, path: &[&str]) -> Option<&'a Value> {
    for segment in path {
        node = match node {
            Value::Array(items) if segment.bytes().all(|b| b.is_ascii_digit()) => {
                items.get(segment.parse::<usize>().ok()?)?
            }
            Value::Object(fields) => fields.get(*segment)?,
            _ => return None,
        };
    }
    Some(node)
}

#[test]
fn stored_values_parse_as_json_only_when_they_look_like_it_never_panicking() {
    let text = prop_oneof![
        hostile_string(),
        json_looking_text(),
        hostile_value().prop_map(|value| value.to_string()),
    ];
    crate::run("stored state values", text, |text| {
        match parse_stored(&text) {
            Value::String(kept) => prop_assert_eq!(kept, text),
            parsed => {
                let trimmed = text.trim();
                prop_assert!(
                    (trimmed.starts_with('{') && trimmed.ends_with('}'))
                        || (trimmed.starts_with('[') && trimmed.ends_with(']')),
                    "parsed text that does not look like JSON"
                );
                prop_assert_eq!(Some(parsed), serde_json::from_str::<Value>(trimmed).ok());
            }
        }
        Ok(())
    });
}

#[test]
fn dotted_keys_write_what_they_say_or_are_refused_by_name_never_panicking() {
    let case = (loaded(), key(), written());
    crate::run("state writes", case, |(values, key, value)| {
        let mut state = ContactState::new(values.clone(), None);
        let result = state.set(&key, value.clone());
        match (result, expected_refusal(&key)) {
            (Err(err), Some(expected)) => {
                prop_assert_eq!(&err, &expected);
                let text = err.to_string();
                prop_assert!(!leaks(&text), "{text}");
                prop_assert_eq!(state.values(), &values, "a refused write changes nothing");
            }
            (Err(err), None) => {
                // Past the refusals that depend on the key alone, only what the
                // stored text could not hold may be refused.
                prop_assert!(
                    matches!(err, StateError::TooNested { .. }),
                    "{key:?} refused: {err}"
                );
                prop_assert!(!leaks(&err.to_string()));
                prop_assert_eq!(state.values(), &values, "a refused write changes nothing");
            }
            (Ok(change), Some(expected)) => {
                prop_assert!(false, "{key:?} written as {change:?}; expected {expected}")
            }
            (Ok(change), None) => {
                let segments: Vec<&str> = key.split('.').collect();
                let (top, path) = segments.split_first().expect("a key has a segment");
                prop_assert_eq!(&change.what, top);
                let now = state.get(top);
                prop_assert_eq!(change.value.clone(), now.and_then(encode));
                // Every other item is as it was.
                for (other, before) in &values {
                    if other != top {
                        prop_assert_eq!(state.get(other), Some(before));
                    }
                }
                match normalized(&value) {
                    Some(stored) => {
                        prop_assert_eq!(now.and_then(|root| at_path(root, path)), Some(&stored))
                    }
                    None if path.is_empty() => prop_assert_eq!(now, None),
                    None => {}
                }
                // What is written reads back as what the state now holds.
                if let Some(text) = &change.value {
                    prop_assert_eq!(
                        parse_stored(text),
                        read_back(now.expect("written")),
                        "{:?}: the stored text does not read back",
                        key
                    );
                }
            }
        }
        Ok(())
    });
}
