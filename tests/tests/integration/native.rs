//! Native async mode: the contact flow invokes the function with Connect's
//! event, and the function answers as Connect expects and records the run.

use serde_json::{json, Value};
use shared::{store::INTEGRATION_END, Clock, ContactId, IntegrationStatus};

use crate::support::{fixture, native_setup, native_setup_of, Setup, ECHO, FIXTURE_CONTACT};

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

/// Lambda's sample Connect event names itself `ContactFlowExecution`; the
/// fixture has its shape (awslabs/aws-lambda-rust-runtime,
/// lambda-events/src/fixtures/example-connect-event.json).
const EXECUTION: &str = "contact-flow-execution.json";

#[tokio::test]
async fn a_contact_flow_execution_event_is_served_in_native_mode() {
    let setup = Setup::new().await;
    let (event, contact) = native_setup_of(&setup, EXECUTION, json!({})).await;

    let answer = setup.invoke(event).await.unwrap();

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(answer["CurrentRule"], "Echo");
    let state = setup.state(&contact).await;
    assert_eq!(
        state.get("EchoResult"),
        Some(&json!({"SleepTime": 1, "note": "from the rule"}))
    );
    let record = state.status().expect("the run is recorded");
    assert_eq!(record.status, IntegrationStatus::Done);
    assert_eq!(record.function_name.as_deref(), Some(ECHO));
}

#[tokio::test]
async fn an_event_with_connect_s_shape_it_cannot_use_is_answered_error_never_a_lambda_error() {
    let setup = Setup::new().await;
    let event = fixture(EXECUTION);
    let contact = ContactId::parse(
        event["Details"]["ContactData"]["InitialContactId"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let mut no_ids = event.clone();
    let data = no_ids["Details"]["ContactData"].as_object_mut().unwrap();
    data.remove("InitialContactId");
    data.remove("ContactId");
    let mut no_contact_data = event.clone();
    no_contact_data["Details"]
        .as_object_mut()
        .unwrap()
        .remove("ContactData");
    let cases = [
        (
            no_ids,
            "the event has no Details.ContactData.InitialContactId or ContactId",
        ),
        (
            no_contact_data,
            "the event is not shaped as Connect sends it",
        ),
    ];
    for (event, cause) in cases {
        let answer = setup
            .invoke(event)
            .await
            .expect("an answer, not a Lambda error");
        assert_eq!(
            answer,
            json!({"IntegrationStatus": "ERROR", "IntegrationErrorCause": cause})
        );
    }
    assert!(setup.table.raw_items(&contact).await.is_empty());

    // Readable, but no rule asked for an integration: no output key in state.
    let answer = setup.invoke(event).await.expect("an answer");
    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert_eq!(
        answer["IntegrationErrorCause"],
        "CurrentRule_functionOutputKey is not set in the contact's state"
    );
    assert_eq!(setup.status(&contact).await, IntegrationStatus::Error);
}
