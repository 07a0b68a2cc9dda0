//! Connect's side: the events start and check-timeout are invoked with, and the
//! flat answer they send back.

use std::collections::BTreeMap;

use proptest::{collection::btree_map, prelude::*};
use serde_json::Value;
use shared::{
    connect::{Answer, ConnectRequest, EventError, MAX_ANSWER_BYTES},
    ContactId, ContactState,
};

use crate::inputs::{hostile_key, hostile_value, leaks, matching};
use crate::mutate::{fixture, mutated};

fn seeds() -> Vec<Value> {
    vec![
        fixture("connect", "contact-flow-event.json"),
        fixture("connect", "transferred-contact-event.json"),
        // Lambda's sample Connect event, named `ContactFlowExecution`.
        fixture("connect", "contact-flow-execution.json"),
        fixture("connect", "keep-warm.json"),
    ]
}

/// The contact id an event names, read as plainly as can be: the first
/// non-empty string of `InitialContactId` and `ContactId`, when `Details` and
/// `ContactData` are objects and the fields read have the types Connect sends
/// (strings, a map of parameters; null or absent are fine). `None` inside when
/// neither id is such a string.
fn named_contact(event: &Value) -> Option<Option<&str>> {
    let details = event.get("Details")?.as_object()?;
    let data = details.get("ContactData")?.as_object()?;
    let ids = ["InitialContactId", "ContactId"].map(|field| data.get(field));
    let typed = ids
        .iter()
        .all(|id| matches!(id, None | Some(Value::Null | Value::String(_))))
        && matches!(
            details.get("Parameters"),
            None | Some(Value::Null | Value::Object(_))
        );
    typed.then(|| {
        ids.into_iter()
            .filter_map(|id| id.and_then(Value::as_str))
            .find(|id| !id.is_empty())
    })
}

#[test]
fn connect_events_are_read_or_refused_by_name_never_panicking() {
    crate::run("Connect events", mutated(seeds()), |event| {
        match ConnectRequest::from_value(event.clone()) {
            Ok(ConnectRequest::KeepWarm(_)) => {
                prop_assert!(event.get("keepWarm").is_some(), "a ping only with keepWarm");
            }
            Ok(ConnectRequest::Contact(read)) => {
                prop_assert!(event.get("keepWarm").is_none());
                prop_assert_eq!(&read.raw, &event, "the event is kept whole");
                if let Some(named) = named_contact(&event) {
                    prop_assert_eq!(Some(read.contact_id.as_str()), named);
                }
                prop_assert!(ContactId::parse(read.contact_id.as_str()).is_ok());
            }
            Err(err) => {
                let text = err.to_string();
                prop_assert!(!text.is_empty());
                prop_assert!(!leaks(&text), "the error echoes personal data: {text}");
                match (&err, named_contact(&event)) {
                    // The plain reading finds a valid id: refusing it is wrong.
                    (_, Some(Some(id))) if ContactId::parse(id).is_ok() => {
                        prop_assert!(false, "refused an event naming contact {id}: {text}")
                    }
                    (EventError::NoContactId, Some(named)) => prop_assert_eq!(named, None),
                    _ => {}
                }
            }
        }
        Ok(())
    });
}

/// A contact's state as loaded: hostile keys with hostile values, and strings
/// long enough to fill Connect's 32 KB many times over.
fn state() -> impl Strategy<Value = BTreeMap<String, Value>> {
    // Mostly small values; now and then strings that fill the answer fast,
    // plainly or through JSON escapes (the second alone can pass 32 KB).
    let value = prop_oneof![
        80 => hostile_value(),
        1 => (0usize..12_000, matching("\\PC")).prop_map(|(n, c)| Value::String(c.repeat(n))),
        1 => (0usize..3_000).prop_map(|n| Value::String("\"\\\n\u{1}".repeat(n))),
    ];
    let key = prop_oneof![
        4 => hostile_key(),
        1 => proptest::sample::select(vec![
            "IntegrationStatus",
            "IntegrationErrorCause",
            "IntegrationEnd",
            "CurrentRule_functionName",
            "CurrentRuleSet",
        ])
        .prop_map(str::to_owned),
    ];
    btree_map(key, value, 0..10)
}

#[test]
fn answers_are_flat_strings_within_32_kb_whatever_the_state_holds() {
    crate::run("Connect answers", state(), |values| {
        let state = ContactState::new(values, None);
        let values = state.values();
        let answer = Answer::from_state(&state);
        let (size, left_out) = (answer.size(), answer.left_out().to_vec());
        let flat = answer.into_value();
        let sent = serde_json::to_string(&flat).expect("an answer is JSON");
        prop_assert_eq!(sent.len(), size, "the size is the size sent");
        prop_assert!(sent.len() <= MAX_ANSWER_BYTES);
        let flat = flat.as_object().expect("an object");
        prop_assert!(flat.contains_key("IntegrationStatus"), "always there");
        for (key, value) in flat {
            prop_assert!(value.is_string(), "{key} is not a string");
            if key != "IntegrationStatus" {
                prop_assert_eq!(values.get(key), Some(value));
            }
        }
        // Every top-level string is in the answer or named as left out.
        for (key, value) in values {
            if value.is_string() && key != "IntegrationStatus" {
                prop_assert!(
                    flat.contains_key(key) || left_out.contains(key),
                    "{key} is neither answered nor named as left out"
                );
            }
        }
        Ok(())
    });
}
