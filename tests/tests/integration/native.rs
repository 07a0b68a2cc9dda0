//! Native async mode: the contact flow invokes the function with Connect's
//! event, and the function answers as Connect expects and records the run.

use serde_json::{json, Value};
use shared::{store::INTEGRATION_END, Clock, ContactId, IntegrationStatus};

use crate::support::{fixture, native_setup, Setup, ECHO, FIXTURE_CONTACT};

#[tokio::test]
async fn native_async_mode_answers_like_connect_expects_and_records_the_run() {
    let setup = Setup::new().await;
    let (event, contact) = native_setup(&setup, json!({})).await;
    let started = setup.clock.now();

    let answer = setup.invoke(event).await.unwrap();

    // Connect takes a flat map of strings only.
    let fields = answer.as_object().expect("an object");
    assert!(fields.values().all(Value::is_string), "{answer}");
    assert_eq!(answer["IntegrationStatus"], "DONE");
    assert_eq!(answer["CurrentRule"], "Echo");
    // The echoed JSON is stored parsed, and JSON values are left out of the
    // answer, as the Rules Engine does.
    assert!(answer.get("EchoResult").is_none(), "{answer}");
    assert!(answer.get("customer").is_none(), "{answer}");
    let state = setup.state(&contact).await;
    assert_eq!(
        state.get("EchoResult"),
        Some(&json!({"SleepTime": 1, "note": "from the rule"}))
    );
    assert!(
        setup.clock.now() - started >= chrono::Duration::seconds(1),
        "the rule's JSON payload reached the echo as text it could read"
    );
    let record = state.status().expect("the run is recorded");
    assert_eq!(record.status, IntegrationStatus::Done);
    assert!(record.run_id.is_some());
    assert_eq!(record.function_name.as_deref(), Some(ECHO));
    assert_eq!(
        record.deadline.unwrap().timestamp_millis(),
        started.timestamp_millis() + 5_000,
        "the rule's timeout sets the deadline"
    );
    assert!(record.ended_at.is_some());
    assert_eq!(
        answer["IntegrationEnd"],
        state.get_str(INTEGRATION_END).unwrap()
    );
}

#[tokio::test]
async fn native_block_parameters_override_the_rule_s_payload_and_output_key() {
    let setup = Setup::new().await;
    let (event, contact) = native_setup(
        &setup,
        json!({"Payload": "{\"ForcedError\": \"Billing down\"}", "OutputKey": "customer.billing"}),
    )
    .await;

    let answer = setup.invoke(event).await.unwrap();

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert_eq!(answer["IntegrationErrorCause"], "Billing down");
    let state = setup.state(&contact).await;
    assert_eq!(state.get("customer"), Some(&json!({"tier": "gold"})));
    assert_eq!(state.get("EchoResult"), None);
}

#[tokio::test]
async fn native_mode_without_an_output_key_answers_error_and_records_it() {
    let setup = Setup::new().await;
    let event = fixture("contact-flow-event.json");

    let answer = setup.invoke(event).await.unwrap();

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert_eq!(
        answer["IntegrationErrorCause"],
        "CurrentRule_functionOutputKey is not set in the contact's state"
    );
    let contact = ContactId::parse(FIXTURE_CONTACT).unwrap();
    assert_eq!(setup.status(&contact).await, IntegrationStatus::Error);
}
