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
