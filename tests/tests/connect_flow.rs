//! integration-start and check-timeout against DynamoDB Local, with the
//! integration function played behind a real Lambda Invoke API endpoint.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use kit::lambda::invoke_api::InvocationType;
use kit::{lambda::fake::FakeLambda, new_contact, SilentDynamoDb, TestTable};
use serde_json::{json, Value};
use shared::{
    connect::{Instance, MAX_ANSWER_BYTES},
    waiting::WaitConfig,
    Clock, ContactId, ContactState, ItemChange, ManualClock, RunId, RunStart, Store, SystemClock,
};

const EVENT: &str = include_str!("../fixtures/connect/contact-flow-event.json");
const TRANSFERRED: &str = include_str!("../fixtures/connect/transferred-contact-event.json");
const KEEP_WARM: &str = include_str!("../fixtures/connect/keep-warm.json");
const OWN_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:dev-rules-engine-connectintegrationstart";
const ECHO: &str = "dev-rules-engine-integrationEcho";

/// The fixture event, for `contact`.
fn event_for(contact: &ContactId) -> Value {
    let mut event: Value = serde_json::from_str(EVENT).unwrap();
    event["Details"]["ContactData"]["ContactId"] = json!(contact.as_str());
    event["Details"]["ContactData"]["InitialContactId"] = json!(contact.as_str());
    event
}

/// Seeds the contact's state as the Rules Engine does when an integration rule fires.
async fn seed_rule(store: &Store, contact: &ContactId, rule: &[(&str, Value)]) {
    let mut state = ContactState::default();
    // Keyed by item, so a key of `rule` replaces the default of the same name.
    let mut changes = std::collections::BTreeMap::new();
    for (key, value) in [
        ("CurrentRuleSet", json!("Main")),
        ("CurrentRule", json!("Look up account")),
        ("CurrentRuleType", json!("Integration")),
        ("CurrentRule_functionName", json!("integrationEcho")),
        ("CurrentRule_functionOutputKey", json!("EchoResult")),
    ]
    .into_iter()
    .chain(rule.iter().cloned())
    {
        let change = state.set(key, value).unwrap();
        changes.insert(change.what.clone(), change);
    }
    let changes: Vec<ItemChange> = changes.into_values().collect();
    store.write(contact, &changes).await.unwrap();
}

fn echo_rule(timeout: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("CurrentRule_functionArn", json!(ECHO)),
        ("CurrentRule_functionPayload", json!(r#"{"SleepTime": 0}"#)),
        ("CurrentRule_functionTimeout", json!(timeout)),
    ]
}

fn start_deps(store: Store, lambda: &FakeLambda) -> integration_start::Deps {
    let vars = [
        ("STATE_TABLE", store.table().to_owned()),
        ("ALLOWED_FUNCTIONS", "dev-rules-engine-integration*".into()),
    ];
    let config = integration_start::StartConfig::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    integration_start::Deps {
        store,
        lambda: lambda.client(),
        config,
        instance: Instance::new(),
    }
}

fn check_deps(store: Store) -> check_timeout::Deps {
    check_timeout::Deps {
        store,
        wait: WaitConfig::default(),
        instance: Instance::new(),
    }
}

async fn start(deps: &integration_start::Deps, contact: &ContactId) -> Value {
    integration_start::handle(event_for(contact), Some(OWN_ARN), deps).await
}

/// Plays the integration function: after `delay`, RUN, then DONE with
/// `EchoResult` (or ERROR with `cause`), for the run it was invoked for.
fn function_finishing(
    store: Store,
    delay: Duration,
    cause: Option<&'static str>,
) -> impl Fn(kit::lambda::fake::Invocation) + Send + Sync {
    move |invocation| {
        let store = store.clone();
        tokio::spawn(async move {
            let contact =
                ContactId::parse(invocation.payload["ContactId"].as_str().unwrap()).unwrap();
            let run = RunId::parse(invocation.payload["RunId"].as_str().unwrap()).unwrap();
            tokio::time::sleep(delay).await;
            store.run(&contact, Some(&run)).await.unwrap();
            match cause {
                None => store
                    .done(
                        &contact,
                        Some(&run),
                        &[ItemChange::put("EchoResult", "hello")],
                    )
                    .await
                    .unwrap(),
                Some(cause) => store
                    .error(
                        &contact,
                        Some(&run),
                        cause,
                        &[ItemChange::delete("EchoResult")],
                    )
                    .await
                    .unwrap(),
            };
        });
    }
}

#[tokio::test]
async fn start_answers_done_when_the_function_finishes_within_the_wait() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    seed_rule(&store, &contact, &echo_rule("8")).await;
    let lambda = FakeLambda::accepting(function_finishing(
        store.clone(),
        Duration::from_millis(50),
        None,
    ))
    .await;
    let deps = start_deps(store.clone(), &lambda);

    let began = std::time::Instant::now();
    let answer = start(&deps, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(answer["EchoResult"], "hello");
    assert!(
        began.elapsed() < Duration::from_secs(1),
        "took {:?}",
        began.elapsed()
    );
    // The invocation, as the function received it.
    let calls = lambda.invocations();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function, ECHO);
    assert_eq!(calls[0].invocation_type, InvocationType::Event);
    let status = store.status(&contact).await.unwrap().unwrap();
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
    assert_eq!(original, event_for(&contact));
}

#[tokio::test]
async fn start_answers_the_open_status_when_the_function_is_still_working_after_the_wait() {
    let table = TestTable::new().await;
    let clock = ManualClock::new(Utc::now());
    let (store, counter) = table.counted_store(Arc::new(clock.clone()));
    let contact = new_contact();
    seed_rule(&store, &contact, &echo_rule("20")).await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let deps = start_deps(store.clone(), &lambda);
    counter.reset();

    let began = clock.now();
    let answer = start(&deps, &contact).await;

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
async fn a_two_second_wait_reads_the_status_item_at_most_25_times() {
    let table = TestTable::new().await;
    let (store, counter) = table.counted_store(Arc::new(SystemClock));
    let contact = new_contact();
    store
        .start(
            &contact,
            RunStart {
                function_name: ECHO.into(),
                timeout: Duration::from_secs(20),
            },
        )
        .await
        .unwrap();
    let deps = check_deps(store);

    let answer = check_timeout::handle(event_for(&contact), &deps).await;

    assert_eq!(answer["IntegrationStatus"], "START");
    let reads = counter.count("GetItem");
    println!("status reads in one 2 s check-timeout wait: {reads}");
    assert!((5..=25).contains(&reads), "{reads} status reads");
}

#[tokio::test]
async fn start_answers_error_with_the_functions_cause() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    seed_rule(&store, &contact, &echo_rule("8")).await;
    let lambda = FakeLambda::accepting(function_finishing(
        store.clone(),
        Duration::ZERO,
        Some("Backend unavailable"),
    ))
    .await;
    let deps = start_deps(store.clone(), &lambda);

    let answer = start(&deps, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert_eq!(answer["IntegrationErrorCause"], "Backend unavailable");
}

#[tokio::test]
async fn start_records_error_when_the_invoke_fails() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    seed_rule(&store, &contact, &echo_rule("8")).await;
    let lambda = FakeLambda::refusing(404, "ResourceNotFoundException").await;
    let deps = start_deps(store.clone(), &lambda);

    let answer = start(&deps, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    let cause = answer["IntegrationErrorCause"].as_str().unwrap();
    assert!(
        cause.contains("could not be invoked") && cause.contains("ResourceNotFound"),
        "{cause}"
    );
    assert_eq!(lambda.invocations().len(), 1);
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status().unwrap().as_str(), "ERROR");
    assert_eq!(state.get_str("IntegrationErrorCause"), Some(cause));
}

#[tokio::test]
async fn start_refuses_a_function_outside_the_allow_list_and_records_error() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    seed_rule(
        &store,
        &contact,
        &[(
            "CurrentRule_functionArn",
            json!("arn:aws:lambda:us-east-1:123456789012:function:dev-billing-deleteEverything"),
        )],
    )
    .await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let deps = start_deps(store.clone(), &lambda);

    let answer = start(&deps, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert!(answer["IntegrationErrorCause"]
        .as_str()
        .unwrap()
        .contains("not on the allow-list"));
    assert!(lambda.invocations().is_empty(), "nothing was invoked");
    let status = store.status(&contact).await.unwrap().unwrap();
    assert_eq!(status.status.as_str(), "ERROR");
    assert_eq!(status.function_name.as_deref(), Some("(not allowed)"));
}

#[tokio::test]
async fn start_refuses_a_reference_with_a_400_kb_qualifier_and_records_the_error_whole() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    // As large as a state item holds: a refusal that echoed it could not be
    // written, and the run start had opened would be left open.
    let reference = format!("{ECHO}:{}", "q".repeat(400 * 1024 - 200));
    seed_rule(
        &store,
        &contact,
        &[("CurrentRule_functionArn", json!(reference))],
    )
    .await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let deps = start_deps(store.clone(), &lambda);

    let answer = start(&deps, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    let cause = answer["IntegrationErrorCause"].as_str().unwrap();
    assert!(cause.starts_with("Integration function refused"), "{cause}");
    assert!(cause.len() < 1024, "{} bytes", cause.len());
    assert!(lambda.invocations().is_empty(), "nothing was invoked");
    let status = store.status(&contact).await.unwrap().unwrap();
    assert_eq!(status.status.as_str(), "ERROR", "no run left open");
    assert!(status.ended_at.is_some());
    assert_eq!(status.function_name.as_deref(), Some("(not allowed)"));
}

#[tokio::test]
async fn start_without_a_function_arn_answers_and_records_error() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    seed_rule(&store, &contact, &[]).await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let deps = start_deps(store.clone(), &lambda);

    let answer = start(&deps, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert!(answer["IntegrationErrorCause"]
        .as_str()
        .unwrap()
        .contains("CurrentRule_functionArn"));
    assert!(lambda.invocations().is_empty());
    assert_eq!(
        store
            .status(&contact)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "ERROR"
    );
}

#[tokio::test]
async fn start_uses_the_default_timeout_when_the_rules_timeout_is_unusable() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    seed_rule(&store, &contact, &echo_rule("soon")).await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let mut deps = start_deps(store.clone(), &lambda);
    deps.config.wait.budget = Duration::from_millis(50);

    start(&deps, &contact).await;

    let run = store.status(&contact).await.unwrap().unwrap();
    assert_eq!(
        run.deadline.unwrap() - run.started_at.unwrap(),
        chrono::Duration::seconds(10)
    );
}

#[tokio::test]
async fn a_transferred_contact_is_keyed_by_its_initial_contact_id() {
    let table = TestTable::new().await;
    let store = table.store();
    let event: Value = serde_json::from_str(TRANSFERRED).unwrap();
    let initial = ContactId::parse(
        event["Details"]["ContactData"]["InitialContactId"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    seed_rule(&store, &initial, &echo_rule("8")).await;
    let lambda =
        FakeLambda::accepting(function_finishing(store.clone(), Duration::ZERO, None)).await;
    let deps = start_deps(store.clone(), &lambda);

    let answer = integration_start::handle(event, Some(OWN_ARN), &deps).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(
        lambda.invocations()[0].payload["ContactId"],
        initial.as_str()
    );
}

#[tokio::test]
async fn check_timeout_times_out_an_open_run_past_its_deadline() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = new_contact();
    store
        .start(
            &contact,
            RunStart {
                function_name: ECHO.into(),
                timeout: Duration::from_secs(5),
            },
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(6));

    let answer = check_timeout::handle(event_for(&contact), &check_deps(store.clone())).await;

    assert_eq!(answer["IntegrationStatus"], "TIMEOUT", "{answer}");
    assert_eq!(answer["IntegrationErrorCause"], "The request timed out");
    assert_eq!(
        store
            .status(&contact)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "TIMEOUT"
    );
}

#[tokio::test]
async fn check_timeout_times_the_run_out_when_the_deadline_falls_inside_its_wait() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = new_contact();
    store
        .start(
            &contact,
            RunStart {
                function_name: ECHO.into(),
                timeout: Duration::from_millis(1_200),
            },
        )
        .await
        .unwrap();
    let began = clock.now();
    let deadline = store
        .status(&contact)
        .await
        .unwrap()
        .unwrap()
        .deadline
        .unwrap();

    let answer = check_timeout::handle(event_for(&contact), &check_deps(store.clone())).await;

    assert_eq!(answer["IntegrationStatus"], "TIMEOUT", "{answer}");
    assert!(
        clock.now() >= deadline,
        "timed out at the deadline, not before"
    );
    let waited = clock.now() - began;
    assert!(
        waited < chrono::Duration::seconds(2),
        "waited {waited}: not the whole budget"
    );
}

#[tokio::test]
async fn check_timeout_does_not_overwrite_a_done_that_landed_just_before_the_deadline() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = new_contact();
    let run = store
        .start(
            &contact,
            RunStart {
                function_name: ECHO.into(),
                timeout: Duration::from_secs(5),
            },
        )
        .await
        .unwrap();
    clock.advance(Duration::from_millis(4_999));
    store
        .done(
            &contact,
            Some(&run.id),
            &[ItemChange::put("EchoResult", "just in time")],
        )
        .await
        .unwrap();
    clock.advance(Duration::from_secs(3));

    let answer = check_timeout::handle(event_for(&contact), &check_deps(store.clone())).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(answer["EchoResult"], "just in time");
}

#[tokio::test]
async fn a_done_racing_check_timeout_at_the_deadline_is_never_overwritten() {
    let table = TestTable::new().await;
    let (mut done_wins, mut timeout_wins) = (0, 0);
    for _ in 0..30 {
        let (store, clock) = table.store_with_manual_clock();
        let contact = new_contact();
        let run = store
            .start(
                &contact,
                RunStart {
                    function_name: ECHO.into(),
                    timeout: Duration::from_secs(5),
                },
            )
            .await
            .unwrap();
        clock.advance(Duration::from_secs(5));
        let deps = check_deps(store.clone());
        let finisher = store.clone();
        let (contact2, run2) = (contact.clone(), run.id.clone());
        let (answer, _) = tokio::join!(
            check_timeout::handle(event_for(&contact), &deps),
            async move {
                finisher
                    .done(
                        &contact2,
                        Some(&run2),
                        &[ItemChange::put("EchoResult", "raced")],
                    )
                    .await
                    .unwrap()
            }
        );
        let state = store.load_state(&contact).await.unwrap();
        let status = state.integration_status().unwrap().as_str();
        assert_eq!(
            answer["IntegrationStatus"], status,
            "the answer shows what the state holds"
        );
        match status {
            "DONE" => {
                done_wins += 1;
                assert_eq!(state.get_str("EchoResult"), Some("raced"));
            }
            "TIMEOUT" => {
                timeout_wins += 1;
                assert_eq!(state.get_str("EchoResult"), None, "no output without DONE");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    println!("DONE won {done_wins}, TIMEOUT won {timeout_wins} of 30 races");
}

#[tokio::test]
async fn check_timeout_answers_done_when_the_run_finishes_during_its_wait() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store
        .start(
            &contact,
            RunStart {
                function_name: ECHO.into(),
                timeout: Duration::from_secs(10),
            },
        )
        .await
        .unwrap();
    let finisher = store.clone();
    let contact2 = contact.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        finisher
            .done(
                &contact2,
                Some(&run.id),
                &[ItemChange::put("EchoResult", "late")],
            )
            .await
            .unwrap();
    });

    let began = std::time::Instant::now();
    let answer = check_timeout::handle(event_for(&contact), &check_deps(store)).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert!(
        began.elapsed() < Duration::from_millis(1_000),
        "took {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn check_timeout_reckons_an_older_writers_deadline_from_integration_start() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = new_contact();
    // An older start: a bare status item, IntegrationStart and the rule's timeout.
    let started = shared::time::format_rules_engine(clock.now());
    seed_rule(
        &store,
        &contact,
        &[
            ("IntegrationStart", json!(started)),
            ("CurrentRule_functionTimeout", json!("3")),
        ],
    )
    .await;
    table
        .client
        .put_item()
        .table_name(&table.name)
        .item(
            "ContactId",
            aws_sdk_dynamodb::types::AttributeValue::S(contact.to_string()),
        )
        .item(
            "What",
            aws_sdk_dynamodb::types::AttributeValue::S("IntegrationStatus".into()),
        )
        .item(
            "Value",
            aws_sdk_dynamodb::types::AttributeValue::S("RUN".into()),
        )
        .send()
        .await
        .unwrap();

    let deps = check_deps(store.clone());
    let answer = check_timeout::handle(event_for(&contact), &deps).await;
    assert_eq!(
        answer["IntegrationStatus"], "RUN",
        "before the deadline the run stays open: {answer}"
    );

    clock.advance(Duration::from_secs(2));
    let answer = check_timeout::handle(event_for(&contact), &deps).await;
    assert_eq!(answer["IntegrationStatus"], "TIMEOUT", "{answer}");
}

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
async fn answers_are_cut_at_32_kb_keeping_the_integration_keys() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let big = "x".repeat(9_000);
    let mut rule = echo_rule("8");
    for key in ["Notes1", "Notes2", "Notes3", "Notes4"] {
        rule.push((key, json!(big)));
    }
    seed_rule(&store, &contact, &rule).await;
    let run = store
        .start(
            &contact,
            RunStart {
                function_name: ECHO.into(),
                timeout: Duration::from_secs(8),
            },
        )
        .await
        .unwrap();
    store
        .done(
            &contact,
            Some(&run.id),
            &[ItemChange::put("EchoResult", "hello")],
        )
        .await
        .unwrap();

    let answer = check_timeout::handle(event_for(&contact), &check_deps(store)).await;

    let size = serde_json::to_string(&answer).unwrap().len();
    assert!(size <= MAX_ANSWER_BYTES, "{size} bytes");
    assert_eq!(answer["IntegrationStatus"], "DONE");
    assert!(answer["IntegrationEnd"].is_string() && answer["CurrentRule_functionArn"].is_string());
    assert_eq!(answer["EchoResult"], "hello");
    let notes = ["Notes1", "Notes2", "Notes3", "Notes4"]
        .iter()
        .filter(|k| answer.get(**k).is_some())
        .count();
    assert_eq!(notes, 3, "one of the four 9 KB keys does not fit");
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
async fn start_and_the_real_echo_function_finish_a_run_with_its_output() {
    let table = TestTable::new().await;
    let store = table.store();
    let (with_payload, without_payload) = (new_contact(), new_contact());
    let mut rule = echo_rule("8");
    rule[1] = (
        "CurrentRule_functionPayload",
        json!(r#"{"Account": "A-1"}"#),
    );
    rule.push((
        "CurrentRule_functionOutputKey",
        json!("customer.echoResult"),
    ));
    seed_rule(&store, &with_payload, &rule).await;
    seed_rule(
        &store,
        &without_payload,
        &[rule[0].clone(), rule[2].clone()],
    )
    .await;
    let lambda = FakeLambda::accepting(kit::lambda::fake::real_echo(store.clone())).await;
    let deps = start_deps(store.clone(), &lambda);

    let answer = start(&deps, &with_payload).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    let state = store.load_state(&with_payload).await.unwrap();
    assert_eq!(
        state.get("customer"),
        Some(&json!({"echoResult": {"Account": "A-1"}}))
    );

    // A rule without a payload: echo gets "" and echoes it, which deletes the key.
    let answer = start(&deps, &without_payload).await;
    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(lambda.invocations()[1].payload["Payload"], "");
}

#[tokio::test]
async fn start_and_check_timeout_log_ids_but_no_personal_data() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    seed_rule(&store, &contact, &echo_rule("1")).await;
    let lambda = FakeLambda::accepting(|_| {}).await;
    let mut deps = start_deps(store.clone(), &lambda);
    deps.config.wait.budget = Duration::from_millis(300);
    let check = check_timeout::Deps {
        wait: deps.config.wait,
        ..check_deps(store.clone())
    };
    let refused = FakeLambda::refusing(500, "ServiceException").await;
    let failing = start_deps(store.clone(), &refused);
    let (logs, _guard) = kit::logs::Logs::capture();

    start(&deps, &contact).await;
    check_timeout::handle(event_for(&contact), &check).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let answer = check_timeout::handle(event_for(&contact), &check).await;
    assert_eq!(answer["IntegrationStatus"], "TIMEOUT");
    start(&failing, &contact).await;
    // Events that cannot be read, holding the number where an id should be.
    let mut bad = event_for(&contact);
    bad["Details"]["ContactData"]["InitialContactId"] = json!("+1 555 555 0123");
    integration_start::handle(bad, Some(OWN_ARN), &deps).await;
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
