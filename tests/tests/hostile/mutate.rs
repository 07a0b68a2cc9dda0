//! Mutations of real, near-valid JSON documents (the fixtures), at the value
//! level (wrong types, missing fields, odd keys, deep nesting) and at the text
//! level (truncated JSON, bad escapes).

use proptest::{collection::vec, prelude::*, sample::select};
use serde_json::Value;

use crate::inputs::{hostile_key, hostile_value, leaks, nested_text, PHONE};

/// One change to a document. `at` picks a node among all of the document's
/// nodes (modulo their number), so mutations land anywhere, leaves included.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// The node becomes `with`: a wrong type, a huge string, deep nesting.
    Replace { at: usize, with: Value },
    /// The node becomes the phone number: a string where a parser may expect a
    /// number, an object or an id.
    Plant { at: usize },
    /// The node leaves its object or array: a missing field.
    Remove { at: usize },
    /// A field is added to the node (if an object) or an element (if an array).
    Insert { at: usize, key: String, with: Value },
    /// The node's key changes case (`ContactId` → `contactId`).
    Recase { at: usize },
    /// The node is wrapped in an array.
    Wrap { at: usize },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), hostile_value()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        3 => any::<usize>().prop_map(|at| Mutation::Plant { at }),
        2 => any::<usize>().prop_map(|at| Mutation::Remove { at }),
        2 => (any::<usize>(), hostile_key(), hostile_value())
            .prop_map(|(at, key, with)| Mutation::Insert { at, key, with }),
        1 => any::<usize>().prop_map(|at| Mutation::Recase { at }),
        1 => any::<usize>().prop_map(|at| Mutation::Wrap { at }),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every node's path, the root's (empty) first.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    let mut all = Vec::new();
    let mut stack = vec![(Vec::new(), value)];
    while let Some((path, node)) = stack.pop() {
        match node {
            Value::Object(fields) => {
                for (key, child) in fields {
                    let mut child_path = path.clone();
                    child_path.push(Step::Key(key.clone()));
                    stack.push((child_path, child));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    let mut child_path = path.clone();
                    child_path.push(Step::Index(index));
                    stack.push((child_path, child));
                }
            }
            _ => {}
        }
        all.push(path);
    }
    all
}

fn node_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |node, step| match step {
        Step::Key(key) => node.get_mut(key.as_str()),
        Step::Index(index) => node.get_mut(*index),
    })
}

fn recase(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if first.is_uppercase() => first.to_lowercase().chain(chars).collect(),
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "X".into(),
    }
}

/// Applies `mutation` to `document`.
pub fn apply(document: &mut Value, mutation: &Mutation) {
    let all = paths(document);
    let pick = |at: usize| all[at % all.len()].clone();
    match mutation {
        Mutation::Replace { at, with } => {
            if let Some(node) = node_mut(document, &pick(*at)) {
                *node = with.clone();
            }
        }
        Mutation::Plant { at } => {
            if let Some(node) = node_mut(document, &pick(*at)) {
                *node = Value::String(PHONE.into());
            }
        }
        Mutation::Wrap { at } => {
            if let Some(node) = node_mut(document, &pick(*at)) {
                *node = Value::Array(vec![node.take()]);
            }
        }
        Mutation::Insert { at, key, with } => match node_mut(document, &pick(*at)) {
            Some(Value::Object(fields)) => {
                fields.insert(key.clone(), with.clone());
            }
            Some(Value::Array(items)) => items.push(with.clone()),
            _ => {}
        },
        Mutation::Remove { at } | Mutation::Recase { at } => {
            let path = pick(*at);
            let Some((last, parent)) = path.split_last() else {
                return;
            };
            match (node_mut(document, parent), last) {
                (Some(Value::Object(fields)), Step::Key(key)) => {
                    if let Some(child) = fields.shift_remove(key) {
                        if matches!(mutation, Mutation::Recase { .. }) {
                            fields.insert(recase(key), child);
                        }
                    }
                }
                (Some(Value::Array(items)), Step::Index(index))
                    if matches!(mutation, Mutation::Remove { .. }) =>
                {
                    items.remove(*index);
                }
                _ => {}
            }
        }
    }
}

/// A change to a document's text, where the runtime's JSON parser meets it.
#[derive(Debug, Clone)]
pub enum TextMutation {
    /// Cut at a byte (moved back to a character boundary): truncated JSON.
    Truncate { at: usize },
    /// A bad escape, a lone surrogate or a stray byte put at a position.
    Splice { at: usize, text: &'static str },
}

pub fn text_mutation() -> impl Strategy<Value = TextMutation> {
    prop_oneof![
        any::<usize>().prop_map(|at| TextMutation::Truncate { at }),
        (
            any::<usize>(),
            select(vec![
                "\\x", "\\ud800", "\\udfff", "\\u12", "\\", "\"", "\u{0}", "{", "]", ",", ":",
                "\\u0000", "1e999", "-", "NaN",
            ])
        )
            .prop_map(|(at, text)| TextMutation::Splice { at, text }),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Applies a text mutation.
pub fn apply_text(text: &mut String, mutation: &TextMutation) {
    match mutation {
        TextMutation::Truncate { at } => {
            let at = boundary(text, *at);
            text.truncate(at);
        }
        TextMutation::Splice { at, text: spliced } => {
            let at = boundary(text, *at);
            text.insert_str(at, spliced);
        }
    }
}

/// Mutations of the real documents in `seeds`: each seed with up to four value
/// mutations, and some of them then mutated as text and parsed again, as the
/// Lambda runtime parses an invocation (text the runtime cannot parse never
/// reaches a handler, and is left out).
pub fn mutated(seeds: Vec<Value>) -> impl Strategy<Value = Value> {
    let by_value = (select(seeds), vec(mutation(), 0..4)).prop_map(|(mut document, mutations)| {
        for mutation in &mutations {
            apply(&mut document, mutation);
        }
        document
    });
    (
        by_value,
        prop_oneof![
            4 => Just(None),
            1 => text_mutation().prop_map(Some),
        ],
    )
        .prop_map(|(document, text)| match text {
            None => document,
            Some(mutation) => {
                let mut text = document.to_string();
                apply_text(&mut text, &mutation);
                // Text the runtime refuses never reaches a handler: the document
                // goes as it was.
                serde_json::from_str(&text).unwrap_or(document)
            }
        })
}

/// A fixture of `tests/fixtures`, parsed.
pub fn fixture(kind: &str, name: &str) -> Value {
    let path = format!("{}/fixtures/{kind}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

#[test]
fn mutations_change_what_they_say() {
    let mut document = serde_json::json!({"Details": {"ContactData": {"ContactId": "c-1"}}});
    let all = paths(&document);
    assert_eq!(all.len(), 4);
    let index = all
        .iter()
        .position(|path| path.len() == 3)
        .expect("the leaf's path");
    apply(&mut document, &Mutation::Plant { at: index });
    assert_eq!(document["Details"]["ContactData"]["ContactId"], PHONE);
    apply(&mut document, &Mutation::Recase { at: index });
    assert_eq!(document["Details"]["ContactData"]["contactId"], PHONE);
    apply(&mut document, &Mutation::Remove { at: index });
    assert_eq!(document["Details"]["ContactData"], serde_json::json!({}));
    let mut text = r#"{"a":"b"}"#.to_owned();
    apply_text(&mut text, &TextMutation::Truncate { at: 5 });
    assert_eq!(text, r#"{"a":"#);
    assert!(serde_json::from_str::<Value>(&nested_text(200, true)).is_err());
    assert!(leaks(&format!("invalid type: string {PHONE:?}")));
}
