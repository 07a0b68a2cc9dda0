use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use super::echo::{Finish, Request, Work};
use super::*;

fn contact() -> ContactId {
    ContactId::parse("c-1").unwrap()
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

#[test]
fn a_value_is_a_put_of_the_whole_item_and_none_or_empty_a_delete() {
    // GIVEN a value, an absent value and an empty one
    let changes = [
        ("IntegrationStatus", Some("DONE".to_owned())),
        ("IntegrationErrorCause", None),
        ("EchoResult", Some(String::new())),
    ];

    // WHEN the original's helper builds its batch
    let requests = write_requests(&contact(), &changes, 1_700_000_000);

    // THEN the value is the four attributes and nothing else, the others deletes by key
    assert_eq!(requests.len(), 3);
    let put = requests[0].put_request().expect("a put").item();
    assert_eq!(put.len(), 4);
    assert_eq!(put["ContactId"], s("c-1"));
    assert_eq!(put["What"], s("IntegrationStatus"));
    assert_eq!(put["Value"], s("DONE"));
    assert_eq!(put["Expiry"], AttributeValue::N("1700000000".into()));
    for (request, what) in requests[1..]
        .iter()
        .zip(["IntegrationErrorCause", "EchoResult"])
    {
        let key = request.delete_request().expect("a delete").key();
        assert_eq!(key.len(), 2);
        assert_eq!(key["What"], s(what));
        assert_eq!(key["ContactId"], s("c-1"));
    }
}

#[test]
fn done_writes_status_end_and_output_and_deletes_the_cause() {
    let done = Finish::Done {
        output: Some(r#"{"Account":"A-1"}"#),
    };
    assert_eq!(
        done.changes("EchoResult", "2026-11-23T20:15:22.123+00:00"),
        [
            ("IntegrationStatus", Some("DONE".to_owned())),
            (
                "IntegrationEnd",
                Some("2026-11-23T20:15:22.123+00:00".to_owned())
            ),
            ("IntegrationErrorCause", None),
            ("EchoResult", Some(r#"{"Account":"A-1"}"#.to_owned())),
        ]
    );
}

#[test]
fn error_writes_status_end_and_cause_and_deletes_the_output() {
    let error = Finish::Error {
        cause: "CRM down".into(),
    };
    assert_eq!(
        error.changes("EchoResult", "2026-11-23T20:15:22.123+00:00"),
        [
            ("IntegrationStatus", Some("ERROR".to_owned())),
            (
                "IntegrationEnd",
                Some("2026-11-23T20:15:22.123+00:00".to_owned())
            ),
            ("IntegrationErrorCause", Some("CRM down".to_owned())),
            ("EchoResult", None),
        ]
    );
}

#[test]
fn sleep_and_forced_error_are_read_from_json_text_only() {
    // GIVEN the payload as JSON text, as our start sends it
    let work = Work::from_payload(&json!(r#"{"SleepTime": "1.5", "ForcedError": "CRM down"}"#));
    assert_eq!(work.sleep, Duration::from_millis(1_500));
    assert_eq!(work.forced_error.as_deref(), Some("CRM down"));
    assert_eq!(
        work.text.as_deref(),
        Some(r#"{"SleepTime": "1.5", "ForcedError": "CRM down"}"#)
    );

    // GIVEN the same as an object, as the original's start sends it: echoed, asking nothing
    let work = Work::from_payload(&json!({"SleepTime": 2, "ForcedError": "CRM down"}));
    assert_eq!(work.sleep, Duration::ZERO);
    assert_eq!(work.forced_error, None);
    assert_eq!(
        work.text.as_deref(),
        Some(r#"{"SleepTime":2,"ForcedError":"CRM down"}"#)
    );
}

#[test]
fn other_payloads_are_echoed_as_they_are_and_a_null_one_deletes_the_output() {
    let plain = Work::from_payload(&json!("plain text"));
    assert_eq!(plain.text.as_deref(), Some("plain text"));
    assert_eq!((plain.sleep, plain.forced_error), (Duration::ZERO, None));
    assert_eq!(Work::from_payload(&json!(null)).text, None);
    // A sleep that is no number is none; a negative one too.
    assert_eq!(
        Work::from_payload(&json!(r#"{"SleepTime": "soon"}"#)).sleep,
        Duration::ZERO
    );
    assert_eq!(
        Work::from_payload(&json!(r#"{"SleepTime": -3}"#)).sleep,
        Duration::ZERO
    );
    // A forced error that is no text fails with its JSON.
    let error = Work::from_payload(&json!(r#"{"ForcedError": {"code": 5}}"#)).forced_error;
    assert_eq!(error.as_deref(), Some(r#"{"code":5}"#));
}

#[test]
fn a_request_needs_its_three_fields_and_a_run_id_is_ignored() {
    let full = json!({
        "ContactId": "c-1",
        "RunId": "r-1",
        "Payload": "hello",
        "OriginalRequest": "{}",
    });
    let request = Request::parse(&full).unwrap();
    assert_eq!(request.contact, contact());
    assert_eq!(request.work.text.as_deref(), Some("hello"));
    for field in ["ContactId", "Payload", "OriginalRequest"] {
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove(field);
        assert_eq!(
            Request::parse(&partial).unwrap_err(),
            format!("Required field is missing: {field}")
        );
    }
    let keep_warm = json!({"keepWarm": {"name": "n", "arn": "a"}});
    assert!(Request::parse(&keep_warm).is_err());
}

#[test]
fn the_original_start_sends_the_request_without_a_run_id() {
    let event = json!({"Name": "ContactFlowEvent"});
    let request = start::integration_request(&contact(), r#"{"SleepTime": 1}"#, event.clone());
    assert_eq!(
        request,
        json!({
            "ContactId": "c-1",
            "Payload": r#"{"SleepTime": 1}"#,
            "OriginalRequest": event.to_string(),
        })
    );
    let as_text = start::integration_request(&contact(), "", json!("{}"));
    assert_eq!(as_text["OriginalRequest"], "{}");
}
