//! integration-start: it invokes the rule's function, waits for the run within
//! Connect's budget, and answers what the run came to.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use kit::lambda::{fake::FakeLambda, invoke_api::InvocationType};
use kit::ManualClock;
use kit::{new_contact, TestTable};
use serde_json::{json, Value};
use shared::{Clock, ContactId};

use crate::support::{
    echo_rule, event_for, function_finishing, idle, seed_rule, start, Fired, ECHO, OWN_ARN,
    TRANSFERRED,
};

#[tokio::test]
async fn start_answers_done_when_the_function_finishes_within_the_wait() {
    let fired = Fired::new(&echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(store, Duration::from_millis(50), None))
    })
    .await;
    let contact = &fired.contact;

    let began = std::time::Instant::now();
    let answer = fired.start().await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(answer["EchoResult"], "hello");
    assert!(
        began.elapsed() < Duration::from_secs(1),
        "took {:?}",
        began.elapsed()
    );
    // The invocation, as the function received it.
    let calls = fired.lambda.invocations();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function, ECHO);
    assert_eq!(calls[0].invocation_type, InvocationType::Event);
    let status = fired.status().await;
    let request = &calls[0].payload;
    assert_eq!(request["ContactId"], contact.as_str());
    assert_eq!(request["RunId"], status.run_id.unwrap().as_str());
    assert_eq!(
        request["Payload"],
        json!(r#"{"SleepTime":0}"#),
        "JSON payloads pass on as JSON text"
    );
    let original: Value =
        serde_json::from_str(request["OriginalRequest"].as_str().unwrap()).unwrap();
    assert_eq!(original, event_for(contact));
}

#[tokio::test]
async fn start_answers_the_open_status_when_the_function_is_still_working_after_the_wait() {
    let table = TestTable::new().await;
    let clock = ManualClock::new(Utc::now());
    let (store, counter) = table.counted_store(Arc::new(clock.clone()));
    let fired = Fired::on(store, new_contact(), &echo_rule("20"), idle).await;
    counter.reset();

    let began = clock.now();
    let answer = fired.start().await;

    assert_eq!(answer["IntegrationStatus"], "START", "{answer}");
    assert!(answer.get("EchoResult").is_none());
    assert_eq!(
        clock.now() - began,
        chrono::Duration::seconds(2),
        "waited the whole budget"
    );
    // start reads 40 ms after the invoke, then every 20 ms (shared::waiting):
    // at most 99 in 2 s, fewer as each read takes its time.
    let reads = counter.count("GetItem");
    assert!(
        (70..=99).contains(&reads),
        "{reads} status reads in one wait"
    );
    assert_eq!(
        counter.count("Query"),
        2,
        "the whole state is read once before and once after"
    );
}

#[tokio::test]
async fn start_answers_error_with_the_functions_cause() {
    let fired = Fired::new(&echo_rule("8"), |store| {
        let cause = Some("Backend unavailable");
        FakeLambda::accepting(function_finishing(store, Duration::ZERO, cause))
    })
    .await;

    let answer = fired.start().await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert_eq!(answer["IntegrationErrorCause"], "Backend unavailable");
}

#[tokio::test]
async fn start_records_error_when_the_invoke_fails() {
    let fired = Fired::new(&echo_rule("8"), |_| {
        FakeLambda::refusing(404, "ResourceNotFoundException")
    })
    .await;

    let answer = fired.start().await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    let cause = answer["IntegrationErrorCause"].as_str().unwrap();
    assert!(
        cause.contains("could not be invoked") && cause.contains("ResourceNotFound"),
        "{cause}"
    );
    assert_eq!(fired.lambda.invocations().len(), 1);
    let state = fired.store.load_state(&fired.contact).await.unwrap();
    assert_eq!(state.integration_status().unwrap().as_str(), "ERROR");
    assert_eq!(state.get_str("IntegrationErrorCause"), Some(cause));
}

#[tokio::test]
async fn start_uses_the_default_timeout_when_the_rules_timeout_is_unusable() {
    let mut fired = Fired::new(&echo_rule("soon"), idle).await;
    fired.deps.config.wait.budget = Duration::from_millis(50);

    fired.start().await;

    let run = fired.status().await;
    assert_eq!(
        run.deadline.unwrap() - run.started_at.unwrap(),
        chrono::Duration::seconds(10)
    );
}

#[tokio::test]
async fn a_transferred_contact_is_keyed_by_its_initial_contact_id() {
    let event: Value = serde_json::from_str(TRANSFERRED).unwrap();
    let initial = ContactId::parse(
        event["Details"]["ContactData"]["InitialContactId"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let store = TestTable::new().await.store();
    let fired = Fired::on(store, initial.clone(), &echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(store, Duration::ZERO, None))
    })
    .await;

    let answer = integration_start::handle(event, Some(OWN_ARN), &fired.deps).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(
        fired.lambda.invocations()[0].payload["ContactId"],
        initial.as_str()
    );
}

#[tokio::test]
async fn start_and_the_real_echo_function_finish_a_run_with_its_output() {
    let mut rule = echo_rule("8");
    rule[1] = (
        "CurrentRule_functionPayload",
        json!(r#"{"Account": "A-1"}"#),
    );
    rule.push((
        "CurrentRule_functionOutputKey",
        json!("customer.echoResult"),
    ));
    let with_payload = Fired::new(&rule, |store| {
        FakeLambda::accepting(kit::lambda::fake::real_echo(kit::table::as_role(
            &store,
            kit::iam::Role::Echo,
        )))
    })
    .await;
    let without_payload = new_contact();
    let (store, deps) = (&with_payload.store, &with_payload.deps);
    seed_rule(store, &without_payload, &[rule[0].clone(), rule[2].clone()]).await;

    let answer = with_payload.start().await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    let state = store.load_state(&with_payload.contact).await.unwrap();
    assert_eq!(
        state.get("customer"),
        Some(&json!({"echoResult": {"Account": "A-1"}}))
    );

    // A rule without a payload: echo gets "" and echoes it, which deletes the key.
    let answer = start(deps, &without_payload).await;
    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(with_payload.lambda.invocations()[1].payload["Payload"], "");
}

/// Connect retries a start that errored or timed out (Admin Guide, *AWS Lambda
/// function* block), and a start may die after its invoke: the retry finds the
/// run this rule activation opened (the mark on `RuleStart`) and answers from
/// it, without a second run or a second call of the function.
#[tokio::test]
async fn a_retried_start_answers_from_the_run_it_opened_and_invokes_nothing_again() {
    let fired = Fired::new(&echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(store, Duration::from_millis(50), None))
    })
    .await;
    let first = fired.start().await;
    let run = fired.status().await.run_id.expect("a run");

    let retried = fired.start().await;

    assert_eq!(first["IntegrationStatus"], "DONE", "{first}");
    assert_eq!(retried["IntegrationStatus"], "DONE", "{retried}");
    assert_eq!(retried["EchoResult"], "hello");
    assert_eq!(
        fired.lambda.invocations().len(),
        1,
        "the function was called once"
    );
    assert_eq!(fired.status().await.run_id, Some(run), "the same run");
}

/// The Rules Engine writes the rule's keys anew, `RuleStart` among them, each
/// time the rule fires: a second activation of the same rule is a new run.
#[tokio::test]
async fn a_second_activation_of_the_same_rule_opens_a_run_of_its_own() {
    let fired = Fired::new(&echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(store, Duration::from_millis(50), None))
    })
    .await;
    fired.start().await;
    let first = fired.status().await.run_id.expect("a run");
    tokio::time::sleep(Duration::from_millis(2)).await;

    seed_rule(&fired.store, &fired.contact, &echo_rule("8")).await;
    let again = fired.start().await;

    assert_eq!(again["IntegrationStatus"], "DONE", "{again}");
    assert_eq!(fired.lambda.invocations().len(), 2);
    assert_ne!(fired.status().await.run_id, Some(first));
}

/// A retry that comes while the first start still waits (Connect's time-out
/// of a slow first call) finds the run the first opened, and so does one that
/// comes after the first answered an open run.
#[tokio::test]
async fn starts_of_one_activation_side_by_side_open_one_run_and_invoke_once() {
    let fired = Fired::new(&echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(store, Duration::from_millis(400), None))
    })
    .await;

    let (first, second) = tokio::join!(fired.start(), fired.start());
    let third = fired.start().await;

    for answer in [&first, &second, &third] {
        assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    }
    assert_eq!(
        fired.lambda.invocations().len(),
        1,
        "one call of the function"
    );
}

/// A contact the Rules Engine did not route has no `RuleStart`: no
/// activation to recognise, so each start opens a run of its own, as before.
#[tokio::test]
async fn without_a_rule_start_each_start_opens_a_run() {
    let fired = Fired::new(&echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(store, Duration::from_millis(50), None))
    })
    .await;
    fired
        .store
        .write(
            &fired.contact,
            &[shared::ItemChange::delete(shared::keys::RULE_START)],
        )
        .await
        .unwrap();

    fired.start().await;
    let first = fired.status().await.run_id;
    fired.start().await;

    assert_eq!(fired.lambda.invocations().len(), 2);
    assert_ne!(fired.status().await.run_id, first);
}
