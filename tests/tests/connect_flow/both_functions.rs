//! What start and check-timeout do alike: keep-warm pings answered without
//! touching state, a hung DynamoDB answered within Connect's budget, and logs
//! that name ids but no personal data.

use std::time::Duration;

use kit::{lambda::fake::FakeLambda, new_contact, SilentDynamoDb};
use serde_json::{json, Value};

use crate::support::{
    check_deps, echo_rule, event_for, idle, start, start_deps, Fired, KEEP_WARM, OWN_ARN,
};

#[tokio::test]
async fn keep_warm_pings_are_answered_without_touching_state() {
    // A hung DynamoDB: touching state would cost a second and answer ERROR.
    let silent = SilentDynamoDb::start().await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let start_deps = start_deps(silent.store.clone(), &lambda);
    let check_deps = check_deps(silent.store.clone());
    let ping: Value = serde_json::from_str(KEEP_WARM).unwrap();

    let began = std::time::Instant::now();
    let first = integration_start::handle(ping.clone(), Some(OWN_ARN), &start_deps).await;
    let second = integration_start::handle(ping.clone(), Some(OWN_ARN), &start_deps).await;
    let checked = check_timeout::handle(ping.clone(), &check_deps).await;

    assert!(began.elapsed() < Duration::from_millis(100));
    for reply in [&first, &second, &checked] {
        let warm = &reply["keepWarm"];
        assert_eq!(warm["name"], ping["keepWarm"]["name"]);
        assert_eq!(warm["arn"], ping["keepWarm"]["arn"]);
        assert!(
            warm["id"].is_string() && warm["runningTime"].is_u64(),
            "{reply}"
        );
    }
    assert_eq!(first["keepWarm"]["coldStart"], true);
    assert_eq!(second["keepWarm"]["coldStart"], false);
    assert_eq!(
        first["keepWarm"]["id"], second["keepWarm"]["id"],
        "one instance, one id"
    );
    assert!(lambda.invocations().is_empty());
}

#[tokio::test]
async fn a_hung_dynamodb_is_answered_with_error_within_the_budget_and_a_second() {
    let silent = SilentDynamoDb::start().await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let contact = new_contact();
    let start_deps = start_deps(silent.store.clone(), &lambda);
    let check_deps = check_deps(silent.store.clone());

    for (name, answer) in [
        (
            "start",
            Box::pin(start(&start_deps, &contact))
                as std::pin::Pin<Box<dyn std::future::Future<Output = Value>>>,
        ),
        (
            "check-timeout",
            Box::pin(check_timeout::handle(event_for(&contact), &check_deps)),
        ),
    ] {
        let began = std::time::Instant::now();
        let answer = answer.await;
        let took = began.elapsed();
        assert_eq!(answer["IntegrationStatus"], "ERROR", "{name}: {answer}");
        assert!(answer["IntegrationErrorCause"].is_string());
        assert!(took < Duration::from_secs(3), "{name} took {took:?}");
    }
    assert!(lambda.invocations().is_empty());
}

#[tokio::test]
async fn start_and_check_timeout_log_ids_but_no_personal_data() {
    let mut fired = Fired::new(&echo_rule("1"), idle).await;
    let (store, contact) = (fired.store.clone(), fired.contact.clone());
    fired.deps.config.wait.budget = Duration::from_millis(300);
    let deps = &fired.deps;
    let check = check_timeout::Deps {
        wait: deps.config.wait,
        ..check_deps(store.clone())
    };
    let refused = FakeLambda::refusing(500, "ServiceException").await;
    let failing = start_deps(store.clone(), &refused);
    let (logs, _guard) = kit::logs::Logs::capture();

    start(deps, &contact).await;
    check_timeout::handle(event_for(&contact), &check).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let answer = check_timeout::handle(event_for(&contact), &check).await;
    assert_eq!(answer["IntegrationStatus"], "TIMEOUT");
    start(&failing, &contact).await;
    // Events that cannot be read, holding the number where an id should be.
    let mut bad = event_for(&contact);
    bad["Details"]["ContactData"]["InitialContactId"] = json!("+1 555 555 0123");
    integration_start::handle(bad, Some(OWN_ARN), deps).await;
    let mut bad = event_for(&contact);
    bad["Details"]["ContactData"]["InitialContactId"] = json!(["+15555550123"]);
    check_timeout::handle(bad, &check).await;

    let text = logs.text();
    for personal in [
        "+15555550123",
        "555 555 0123",
        "ACCT-99887766",
        "Ada Lovelace",
    ] {
        assert!(!text.contains(personal), "{personal} was logged:\n{text}");
    }
    let started = logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "run started")
        .expect("a run started line");
    assert_eq!(started["span"]["contact_id"], contact.as_str(), "{started}");
    assert!(started["span"]["run_id"].is_string(), "{started}");
    assert!(
        text.contains("not shaped as Connect sends it") || text.contains("contact id is invalid"),
        "{text}"
    );
}
