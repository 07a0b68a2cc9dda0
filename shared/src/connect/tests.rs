use super::*;
use crate::state::tests::state;
use serde_json::json;

#[test]
fn json_len_matches_serde_json() {
    for text in [
        "",
        "plain",
        "quote \" and \\",
        "tab\tnew\nline\u{1}",
        "émoji 🎧",
    ] {
        assert_eq!(json_len(text), serde_json::to_string(text).unwrap().len());
    }
}

#[test]
fn an_answer_holds_string_values_only_with_integration_keys_first() {
    let answer = Answer::from_state(&state(json!({
        "Zeta": "z",
        "customer": {"name": "Ada"},
        "CurrentRule_functionName": "echo",
        "IntegrationStatus": "DONE",
        "IntegrationEnd": "2026-11-23T20:15:22.123+00:00",
    })));
    let value = answer.clone().into_value();
    let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "IntegrationStatus",
            "IntegrationEnd",
            "CurrentRule_functionName",
            "Zeta"
        ]
    );
    assert_eq!(answer.status(), "DONE");
    assert!(answer.left_out().is_empty());
}

#[test]
fn an_answer_is_cut_at_32_kb_and_names_what_it_left_out() {
    let big = "x".repeat(20_000);
    let answer = Answer::from_state(&state(json!({
        "IntegrationStatus": "DONE",
        "IntegrationErrorCause": "none",
        "A": big,
        "B": big,
        "C": "small",
    })));
    assert_eq!(answer.left_out(), ["B"]);
    let text = serde_json::to_string(&answer.clone().into_value()).unwrap();
    assert_eq!(text.len(), answer.size());
    assert!(text.len() <= MAX_ANSWER_BYTES);
    assert_eq!(answer.get("C"), Some("small"));
    assert_eq!(answer.get("IntegrationErrorCause"), Some("none"));
}

#[test]
fn a_status_text_that_is_no_status_is_answered_as_error_within_the_limit() {
    let answer = Answer::from_state(&state(json!({
        "IntegrationStatus": "x".repeat(MAX_ANSWER_BYTES + 1),
    })));
    assert_eq!(answer.status(), "ERROR");
    assert!(answer.size() <= MAX_ANSWER_BYTES);
    let done = Answer::from_state(&state(json!({"IntegrationStatus": "DONE"})));
    assert_eq!(done.status(), "DONE");
}

#[test]
fn an_error_answer_carries_the_cause() {
    let answer = Answer::error("DynamoDB is unreachable");
    assert_eq!(
        answer.into_value(),
        json!({"IntegrationStatus": "ERROR", "IntegrationErrorCause": "DynamoDB is unreachable"})
    );
}

#[test]
fn the_contact_key_is_the_initial_contact_id_and_null_endpoints_are_fine() {
    let event = ContactFlowEvent::from_value(json!({
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {
                "ContactId": "leg-2",
                "InitialContactId": "leg-1",
                "SystemEndpoint": null,
                "CustomerEndpoint": {"Address": "+15555550100", "Type": "TELEPHONE_NUMBER"}
            },
            "Parameters": {"Mode": "fast"}
        }
    }))
    .unwrap();
    assert_eq!(event.contact_id.as_str(), "leg-1");
    assert_eq!(event.parameter("Mode"), Some("fast"));
}

#[test]
fn a_keep_warm_ping_is_recognised_and_bad_events_are_named() {
    let ping = ConnectRequest::from_value(json!({"keepWarm": {"name": "f", "arn": "a"}}));
    assert!(matches!(
        ping,
        Ok(ConnectRequest::KeepWarm(KeepWarm { name: Some(_), .. }))
    ));
    let err = ConnectRequest::from_value(json!({"Details": {"ContactData": {}}})).unwrap_err();
    assert!(matches!(err, EventError::NoContactId));
    let instance = Instance::new();
    let ConnectRequest::KeepWarm(ping) =
        ConnectRequest::from_value(json!({"keepWarm": {"name": "f", "arn": "a"}})).unwrap()
    else {
        unreachable!("checked above")
    };
    let first = ping.reply(&instance);
    assert_eq!(first["keepWarm"]["coldStart"], json!(true));
    assert_eq!(first["keepWarm"]["name"], json!("f"));
    assert_eq!(ping.reply(&instance)["keepWarm"]["coldStart"], json!(false));
    let err = ConnectRequest::from_value(json!("hello")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the event is not shaped as Connect sends it"
    );
}

#[test]
fn an_event_is_recognised_by_its_shape_whatever_its_name() {
    // Lambda's sample Connect event names itself `ContactFlowExecution`
    // (awslabs/aws-lambda-rust-runtime, lambda-events/src/fixtures/example-connect-event.json).
    for name in ["ContactFlowEvent", "ContactFlowExecution"] {
        let event = json!({
            "Name": name,
            "Details": {"ContactData": {"InitialContactId": "c-1"}, "Parameters": {}}
        });
        assert!(ConnectRequest::recognises(&event));
        assert!(matches!(
            ConnectRequest::from_value(event),
            Ok(ConnectRequest::Contact(read)) if read.contact_id.as_str() == "c-1"
        ));
    }
    assert!(ConnectRequest::recognises(&json!({"Details": {}})));
    assert!(ConnectRequest::recognises(&json!({"keepWarm": {}})));
    assert!(!ConnectRequest::recognises(
        &json!({"Name": "ContactFlowEvent", "ContactId": "c"})
    ));
    assert!(!ConnectRequest::recognises(&json!("Details")));
}

#[test]
fn a_bad_contact_id_is_said_once_in_the_chain() {
    let err = ConnectRequest::from_value(json!({
        "Details": {"ContactData": {"InitialContactId": "a\tb"}}
    }))
    .unwrap_err();
    assert_eq!(
        crate::telemetry::error_chain(&err),
        "the event's contact id is invalid: contact id contains a control character or white space"
    );
}
