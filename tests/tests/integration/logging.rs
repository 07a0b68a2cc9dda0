//! What a run logs: the analytics records, errors and refusals with their cause
//! and reason, and never the caller's personal data.

use kit::logs::Logs;
use serde_json::json;
use shared::ContactId;

use crate::support::{fixture, native_setup, request, Setup, ECHO, FIXTURE_CONTACT};

#[tokio::test]
async fn a_run_logs_the_analytics_records_and_no_personal_data() {
    let setup = Setup::new().await;
    // The flow passes the caller's number on to the function, as flows do.
    let (event, contact) = native_setup(
        &setup,
        json!({"Payload": "{\"phone\": \"+15555550123\", \"name\": \"Ada Lovelace\"}"}),
    )
    .await;
    let (logs, _guard) = Logs::capture();

    setup.invoke(event.clone()).await.unwrap();
    // And the same event as the OriginalRequest of an integration request.
    let run = setup.rule(&contact, "EchoResult", "ACCT-99887766").await;
    let mut from_start = request(&contact, Some(&run.id), "ACCT-99887766");
    from_start["OriginalRequest"] = json!(event.to_string());
    setup.invoke(from_start).await.unwrap();

    let text = logs.text();
    for personal in ["+15555550123", "ACCT-99887766", "Ada Lovelace"] {
        assert!(!text.contains(personal), "{personal} was logged:\n{text}");
    }
    let ends = logs.events("INTEGRATION_END");
    assert_eq!(ends.len(), 2, "{text}");
    let end = &ends[0];
    assert_eq!(end["EventType"], "ANALYTICS");
    assert_eq!(end["ContactId"], contact.as_str());
    assert_eq!(end["RuleSet"], "Main");
    assert_eq!(end["Rule"], "Echo");
    assert_eq!(end["RuleType"], "Integration");
    assert_eq!(end["FunctionName"], ECHO);
    assert_eq!(end["Status"], "DONE");
    assert!(end["When"].as_str().unwrap().ends_with("+00:00"));
    assert!(end["Cost"].as_i64().unwrap() >= 0);
    assert_eq!(logs.events("INTEGRATION_RUN").len(), 2);
}

#[tokio::test]
async fn an_error_and_a_refusal_are_logged_with_their_cause_and_reason() {
    let payload = r#"{"ForcedError": "Billing down"}"#;
    let (setup, contact, run) = Setup::with_rule("EchoResult", payload).await;
    let (logs, _guard) = Logs::capture();

    setup.answer(&contact, Some(&run.id), payload).await;
    // Lambda's retry of a run that already ended.
    setup.answer(&contact, Some(&run.id), payload).await;

    let ends = logs.events("INTEGRATION_END");
    assert_eq!(ends.len(), 1, "{}", logs.text());
    assert_eq!(ends[0]["Status"], "ERROR");
    assert_eq!(ends[0]["ErrorCause"], "Billing down");
    let refusals: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|line| line["refusal"] == "the run already ended as ERROR")
        .collect();
    assert_eq!(refusals.len(), 1, "{}", logs.text());
    assert_eq!(refusals[0]["level"], "WARN");
    assert_eq!(refusals[0]["contact_id"], contact.as_str());
    assert_eq!(refusals[0]["run_id"], run.id.as_str());
}

#[tokio::test]
async fn a_malformed_contact_flow_event_is_answered_with_error_and_nothing_of_it_is_logged() {
    let setup = Setup::new().await;
    let mut event = fixture("contact-flow-event.json");
    // serde would quote this value in its message.
    event["Details"]["Parameters"] = json!("+15555550123");
    let (logs, _guard) = Logs::capture();

    let answer = setup.invoke(event).await.unwrap();

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert_eq!(
        answer["IntegrationErrorCause"],
        "the event is not shaped as Connect sends it"
    );
    assert!(!logs.text().contains("+15555550123"), "{}", logs.text());
    let contact = ContactId::parse(FIXTURE_CONTACT).unwrap();
    assert!(setup.table.raw_items(&contact).await.is_empty());
}
