//! The echo function behind start's integration request: what it writes, what
//! it refuses, and what it leaves to Lambda.

use integration_echo::echo;
use kit::new_contact;
use serde_json::json;
use shared::{
    integration::{Deps, IntegrationError, Settings},
    store::{INTEGRATION_END, INTEGRATION_ERROR_CAUSE},
    Clock, IntegrationStatus, Store,
};

use crate::support::{assert_done, invoke_with, request, start, status, Setup, ECHO};

#[tokio::test]
async fn echo_writes_a_json_payload_into_a_dotted_output_key_as_nested_json() {
    let setup = Setup::new().await;
    let contact = new_contact();
    setup
        .seed(&contact, json!({"customer": {"id": "C-1"}}))
        .await;
    let payload = r#"{"greeting": "hello", "items": [1, 2]}"#;
    let run = setup.rule(&contact, "customer.echoResult", payload).await;

    let reply = setup.answer(&contact, Some(&run.id), payload).await;

    assert_eq!(reply["IntegrationStatus"], "DONE");
    assert_eq!(reply["RunId"], run.id.as_str());
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(
        state.get("customer"),
        Some(&json!({"id": "C-1", "echoResult": {"greeting": "hello", "items": [1, 2]}}))
    );
    assert!(state.get_str(INTEGRATION_END).is_some());
    assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
}

#[tokio::test]
async fn sleep_time_with_forced_error_ends_in_error_with_the_cause_and_the_output_removed() {
    let setup = Setup::new().await;
    let contact = new_contact();
    // The output of an earlier run, which an ERROR must not leave behind.
    setup
        .seed(
            &contact,
            json!({"customer": {"id": "C-1", "echoResult": "old"}}),
        )
        .await;
    let payload = r#"{"SleepTime": "2.5", "ForcedError": "CRM unavailable"}"#;
    let run = setup.rule(&contact, "customer.echoResult", payload).await;
    let before = setup.clock.now();

    let reply = setup.answer(&contact, Some(&run.id), payload).await;

    assert_eq!(reply["IntegrationStatus"], "ERROR");
    assert!(
        setup.clock.now() - before >= chrono::Duration::milliseconds(2_500),
        "the echo slept on the injected clock"
    );
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Error);
    assert_eq!(
        state.get_str(INTEGRATION_ERROR_CAUSE),
        Some("CRM unavailable")
    );
    assert_eq!(state.get("customer"), Some(&json!({"id": "C-1"})));
    assert!(state.get_str(INTEGRATION_END).is_some());
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_echoed_as_text() {
    let (setup, contact, run) = Setup::with_rule("EchoResult", "hello there").await;

    setup.answer(&contact, Some(&run.id), "hello there").await;

    assert_done(&setup, &contact, "EchoResult", "hello there").await;
}

#[tokio::test]
async fn a_request_without_contact_id_or_not_an_object_is_an_error_and_state_is_untouched() {
    let (setup, contact, run) = Setup::with_rule("EchoResult", "x").await;
    let before = setup.table.raw_items(&contact).await;

    let mut no_contact = request(&contact, Some(&run.id), "x");
    no_contact
        .as_object_mut()
        .unwrap()
        .remove("ContactId")
        .unwrap();
    let err = setup.invoke(no_contact).await.unwrap_err();
    assert!(matches!(err, IntegrationError::BadRequest(_)));
    assert_eq!(
        err.to_string(),
        "bad request: the integration request has no ContactId"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "BadRequest");

    let err = setup.invoke(json!("not json")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad request: the request is not a JSON object"
    );

    assert_eq!(setup.table.raw_items(&contact).await, before);
}

#[tokio::test]
async fn an_invocation_that_is_nothing_it_serves_is_a_lambda_error_that_says_why_once() {
    let setup = Setup::new().await;

    let err = setup
        .invoke(json!({"Name": "ContactFlowExecution", "Parameters": {}}))
        .await
        .unwrap_err();

    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "BadRequest");
    assert_eq!(
        diagnostic.error_message,
        "bad request: the request is neither an integration request (ContactId, Payload, \
         OriginalRequest), a Connect event (Details.ContactData) nor a keep-warm ping"
    );
}

#[tokio::test]
async fn a_rule_without_an_output_key_ends_the_run_in_error_with_a_cause() {
    let setup = Setup::new().await;
    let contact = new_contact();
    let run = start(&setup.store, &contact).await;

    let reply = setup.answer(&contact, Some(&run.id), "x").await;

    assert_eq!(reply["IntegrationStatus"], "ERROR");
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Error);
    assert_eq!(
        state.get_str(INTEGRATION_ERROR_CAUSE),
        Some("CurrentRule_functionOutputKey is not set in the contact's state")
    );
}

#[tokio::test]
async fn a_dynamodb_failure_goes_back_to_lambda_as_an_error() {
    let setup = Setup::new().await;
    let missing = Store::new(
        setup.table.client.clone(),
        "no-such-table",
        std::sync::Arc::new(setup.clock.clone()),
    );
    let deps = Deps::new(missing, Settings::default());
    let contact = new_contact();

    let err = invoke_with(&deps, request(&contact, None, "x"), echo)
        .await
        .unwrap_err();

    assert!(matches!(err, IntegrationError::Store(_)));
}

#[tokio::test]
async fn a_keep_warm_ping_is_answered_without_touching_state() {
    let setup = Setup::new().await;
    let reply = setup
        .invoke(json!({"keepWarm": {"name": ECHO, "arn": "arn:aws:lambda:x"}}))
        .await
        .unwrap();
    assert_eq!(reply["keepWarm"]["name"], ECHO);
    assert_eq!(reply["keepWarm"]["coldStart"], true);
}
