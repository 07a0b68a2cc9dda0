//! Mixed installations: functions written for the original Rules Engine
//! write the status item with bare puts (`kit::legacy`, built from the
//! original's writes as docs and design describe them), and every guarantee
//! still holds once the consumer has read the stream: the status the caller
//! was told stands, a stripped run stays sweepable, every run is measured
//! once with its function name.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use kit::{
    legacy, new_contact,
    stream::{poller::Poller, target::InProcess},
    Rule,
};
use serde_json::{json, Value};
use shared::{
    keys::{
        INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_LATE_FINISH, INTEGRATION_START,
        INTEGRATION_STATUS, TIMEOUT_CAUSE,
    },
    time::format_rules_engine,
    ContactId, RunId,
};
use stream_consumer::ConsumerConfig;

use crate::{
    poller::poller,
    support::{consumer_on, open_run, Harness},
};

const LEGACY: &str = "dev-rules-integrationLegacy";
const OUTPUT: &str = "LegacyResult";

fn rule(timeout_s: u32) -> Rule<'static> {
    Rule {
        name: "Legacy lookup",
        function: LEGACY,
        output_key: OUTPUT,
        timeout_s,
        payload: "{}",
    }
}

/// The original function's writes, one batch each, as IntegrationEcho.js makes them.
async fn legacy_writes(harness: &Harness, contact: &ContactId, status: &str) {
    let now = || Some(format_rules_engine(chrono::Utc::now()));
    let changes: Vec<(&str, Option<String>)> = match status {
        "RUN" => vec![(INTEGRATION_STATUS, Some("RUN".into()))],
        "DONE" => vec![
            (INTEGRATION_STATUS, Some("DONE".into())),
            (INTEGRATION_END, now()),
            (INTEGRATION_ERROR_CAUSE, None),
            (OUTPUT, Some(r#"{"late":"output"}"#.into())),
        ],
        "ERROR" => vec![
            (INTEGRATION_STATUS, Some("ERROR".into())),
            (INTEGRATION_ERROR_CAUSE, Some("CRM unavailable".into())),
            (INTEGRATION_END, now()),
            (OUTPUT, None),
        ],
        other => panic!("the original writes no {other}"),
    };
    legacy::write_state(
        &harness.table.client,
        &harness.table.name,
        contact,
        &changes,
    )
    .await
    .expect("the legacy batch");
}

/// The table's stream delivered to the consumer as Lambda's event source
/// mapping would: what is new at each [`Stream::deliver`].
struct Stream(Poller<InProcess>);

impl Stream {
    async fn new(harness: &Harness) -> Self {
        Self(poller(&harness.table, InProcess(harness.consumer.clone())).await)
    }

    async fn deliver(&mut self) {
        let report = self.0.drain(10).await.expect("the stream drains");
        assert_eq!(report.skipped, 0, "{report:?}");
    }
}

/// The whole stream delivered again from its start, as an operator's replay does.
async fn replay(harness: &Harness) {
    Stream::new(harness).await.deliver().await;
}

async fn items(
    harness: &Harness,
    contact: &ContactId,
) -> HashMap<String, HashMap<String, AttributeValue>> {
    harness
        .table
        .raw_items(contact)
        .await
        .into_iter()
        .map(|item| {
            let what = match &item["What"] {
                AttributeValue::S(what) => what.clone(),
                other => panic!("What is {other:?}"),
            };
            (what, item)
        })
        .collect()
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(text)) => Some(text.clone()),
        Some(AttributeValue::N(n)) => Some(n.clone()),
        _ => None,
    }
}

fn value(items: &HashMap<String, HashMap<String, AttributeValue>>, what: &str) -> Option<String> {
    items.get(what).and_then(|item| text(item, "Value"))
}

/// A run of ours (our start), picked up by the original function.
async fn legacy_run(harness: &Harness, timeout_s: u32) -> (ContactId, RunId) {
    let contact = new_contact();
    rule(timeout_s)
        .seed(&harness.store, &contact, [])
        .await
        .unwrap();
    let run = open_run(&harness.store, &contact, LEGACY, timeout_s.into()).await;
    (contact, run)
}

fn assert_measured_once(
    harness: &Harness,
    run: &RunId,
    metric: &str,
    label: (&str, &str),
) -> Value {
    let documents = harness.metric_for_run(metric, run.as_str());
    assert_eq!(documents.len(), 1, "{metric} for {run}: {documents:?}");
    let document = documents[0].clone();
    assert_eq!(document[label.0], label.1, "{document}");
    assert_eq!(document["FunctionName"], LEGACY, "{document}");
    let others = ["IntegrationCount", "AbandonedRuns"]
        .iter()
        .filter(|m| **m != metric)
        .map(|m| harness.metric_for_run(m, run.as_str()).len())
        .sum::<usize>();
    assert_eq!(others, 0, "one completion metric per run");
    document
}

#[tokio::test]
async fn a_run_the_original_marks_run_gets_its_identity_back_and_is_measured_once_with_it() {
    // GIVEN our start's run, marked RUN by the original function (a bare put)
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, run) = legacy_run(&harness, 10).await;
    legacy_writes(&harness, &contact, "RUN").await;
    let stripped = harness.raw_status(contact.as_str()).await;
    assert!(!stripped.contains_key("RunId") && !stripped.contains_key("PendingShard"));

    // WHEN the consumer reads the stream
    stream.deliver().await;

    // THEN the run names itself again and is back in the pending-runs index
    let adopted = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&adopted, "RunId").as_deref(), Some(run.as_str()));
    assert_eq!(text(&adopted, "Value").as_deref(), Some("RUN"));
    for kept in ["StartedAt", "Deadline", "FunctionName", "PendingShard"] {
        assert!(adopted.contains_key(kept), "{kept}: {adopted:?}");
    }

    // WHEN the original finishes it, and the stream is delivered, then replayed
    tokio::time::sleep(Duration::from_millis(300)).await;
    legacy_writes(&harness, &contact, "DONE").await;
    stream.deliver().await;
    replay(&harness).await;

    // THEN it is measured once, with its run id, function and duration
    let document = assert_measured_once(&harness, &run, "IntegrationCount", ("Status", "DONE"));
    let duration = document["IntegrationDuration"]
        .as_f64()
        .expect("a duration");
    assert!((300.0..10_000.0).contains(&duration), "{duration}");
    let done = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&done, "RunId").as_deref(), Some(run.as_str()));
    assert!(
        !done.contains_key("PendingShard"),
        "a finished run leaves the index"
    );
}

#[tokio::test]
async fn a_run_the_original_marks_and_finishes_before_the_consumer_looks_is_named_and_measured() {
    // GIVEN the original's RUN and DONE, both landed before the first delivery
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, run) = legacy_run(&harness, 10).await;
    legacy_writes(&harness, &contact, "RUN").await;
    legacy_writes(&harness, &contact, "DONE").await;

    // WHEN the stream is delivered, then replayed
    stream.deliver().await;
    replay(&harness).await;

    // THEN the finished item names its run, which is measured once
    let status = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&status, "RunId").as_deref(), Some(run.as_str()));
    assert_eq!(text(&status, "Value").as_deref(), Some("DONE"));
    let document = assert_measured_once(&harness, &run, "IntegrationCount", ("Status", "DONE"));
    assert!(document["IntegrationDuration"].is_number(), "{document}");
    let state = items(&harness, &contact).await;
    assert_eq!(
        value(&state, OUTPUT).as_deref(),
        Some(r#"{"late":"output"}"#)
    );
}

#[tokio::test]
async fn a_run_the_original_finished_past_its_deadline_before_the_consumer_looked_is_named_and_measured(
) {
    // GIVEN the original's RUN, then its DONE past the run's deadline with no
    // timeout in between (nobody was waiting: start's wait had failed), both
    // landed before the first delivery (the consumer was behind)
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, run) = legacy_run(&harness, 1).await;
    legacy_writes(&harness, &contact, "RUN").await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    legacy_writes(&harness, &contact, "DONE").await;

    // WHEN the stream is delivered, then replayed
    stream.deliver().await;
    replay(&harness).await;

    // THEN the finish stands, names its run, and the run is measured once with
    // its id, function and duration; nothing is left aside
    let status = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&status, "Value").as_deref(), Some("DONE"));
    assert_eq!(text(&status, "RunId").as_deref(), Some(run.as_str()));
    let document = assert_measured_once(&harness, &run, "IntegrationCount", ("Status", "DONE"));
    let duration = document["IntegrationDuration"]
        .as_f64()
        .expect("a duration");
    assert!((1_300.0..10_000.0).contains(&duration), "{duration}");
    let state = items(&harness, &contact).await;
    assert!(
        !state.contains_key(shared::keys::INTEGRATION_STRIPPED_RUN),
        "{state:?}"
    );
    assert!(harness.metric("LateFinishes").is_empty());
}

#[tokio::test]
async fn a_late_finish_after_timeout_is_undone_counted_once_and_its_output_kept_aside() {
    for late in ["DONE", "ERROR"] {
        // GIVEN a run the original marked RUN, timed out by check-timeout's transition
        let harness = Harness::new().await;
        let mut stream = Stream::new(&harness).await;
        let (contact, run) = legacy_run(&harness, 1).await;
        legacy_writes(&harness, &contact, "RUN").await;
        stream.deliver().await;
        // check-timeout times a run out once its deadline has passed
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let told = harness.store.timeout(&contact, Some(&run)).await.unwrap();
        assert_eq!(told, shared::Transition::Applied);
        let told_state = items(&harness, &contact).await;
        let told_end = value(&told_state, INTEGRATION_END).expect("the timeout's end");

        // WHEN the original finishes late, and the stream is delivered, then replayed
        legacy_writes(&harness, &contact, late).await;
        let late_state = items(&harness, &contact).await;
        assert_eq!(
            value(&late_state, INTEGRATION_STATUS).as_deref(),
            Some(late)
        );
        stream.deliver().await;
        replay(&harness).await;

        // THEN the state says what the caller was told
        let state = items(&harness, &contact).await;
        assert_eq!(
            value(&state, INTEGRATION_STATUS).as_deref(),
            Some("TIMEOUT"),
            "{late}"
        );
        assert_eq!(
            text(&state[INTEGRATION_STATUS], "RunId").as_deref(),
            Some(run.as_str())
        );
        assert_eq!(
            value(&state, INTEGRATION_ERROR_CAUSE).as_deref(),
            Some(TIMEOUT_CAUSE)
        );
        assert_eq!(value(&state, INTEGRATION_END), Some(told_end));
        assert_eq!(value(&state, OUTPUT), None, "a timed-out run has no output");
        // ... what the late writer brought is kept, not lost
        let kept: Value =
            serde_json::from_str(&value(&state, INTEGRATION_LATE_FINISH).expect("kept aside"))
                .unwrap();
        assert_eq!(kept["Status"], late);
        assert_eq!(kept["ToldStatus"], "TIMEOUT");
        assert!(kept["FinishedAt"].is_string(), "{kept}");
        match late {
            "DONE" => {
                assert_eq!(kept["OutputKey"], OUTPUT);
                assert_eq!(kept["Output"], r#"{"late":"output"}"#);
            }
            _ => assert_eq!(kept["Cause"], "CRM unavailable"),
        }
        // ... the run is measured once, as TIMEOUT, and the late finish counted once
        assert_measured_once(&harness, &run, "IntegrationCount", ("Status", "TIMEOUT"));
        let late_finishes = harness.metric_for_run("LateFinishes", run.as_str());
        assert_eq!(late_finishes.len(), 1, "{late_finishes:?}");
        assert_eq!(late_finishes[0]["FunctionName"], LEGACY);
        assert_eq!(late_finishes[0]["LateStatus"], late);
        let stood: u64 = late_finishes[0]["UndoneAfterMs"]
            .as_str()
            .and_then(|ms| ms.parse().ok())
            .expect("how long the late write stood");
        println!("late {late} undone {stood} ms after it was written");
    }
}

#[tokio::test]
async fn a_late_run_after_timeout_is_undone_without_a_late_finish() {
    // GIVEN a run timed out before the original function even began
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, run) = legacy_run(&harness, 1).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    harness.store.timeout(&contact, Some(&run)).await.unwrap();
    // WHEN it marks RUN late, then finishes
    legacy_writes(&harness, &contact, "RUN").await;
    stream.deliver().await;
    let status = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&status, "Value").as_deref(), Some("TIMEOUT"));
    assert!(harness.metric("LateFinishes").is_empty());
    legacy_writes(&harness, &contact, "DONE").await;
    stream.deliver().await;
    replay(&harness).await;
    // THEN TIMEOUT stands, and the finish (not the RUN) is counted late
    let status = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&status, "Value").as_deref(), Some("TIMEOUT"));
    assert_eq!(harness.metric("LateFinishes").len(), 1);
    assert_measured_once(&harness, &run, "IntegrationCount", ("Status", "TIMEOUT"));
}

#[tokio::test]
async fn a_run_the_original_marked_run_and_abandoned_is_swept_and_measured_once() {
    // GIVEN the original function died after marking RUN, and the caller hung up
    let table = kit::TestTable::new().await;
    let store = table.store();
    let config = ConsumerConfig {
        grace: Duration::ZERO,
        ..ConsumerConfig::default()
    };
    let (consumer, sink) = consumer_on(store.clone(), config);
    let harness = Harness {
        table,
        store,
        sink,
        consumer: std::sync::Arc::new(consumer),
    };
    let mut stream = Stream::new(&harness).await;
    let (contact, run) = legacy_run(&harness, 1).await;
    legacy_writes(&harness, &contact, "RUN").await;
    stream.deliver().await;

    // WHEN its deadline passes and the schedule sweeps; the stream is delivered and replayed
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let sweep = harness.consumer.scheduled().await.unwrap();
    assert_eq!(sweep.timed_out, 1, "{sweep:?}");
    stream.deliver().await;
    replay(&harness).await;

    // THEN it is timed out and counted once as abandoned, with its function name
    let status = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&status, "Value").as_deref(), Some("TIMEOUT"));
    assert_measured_once(&harness, &run, "AbandonedRuns", ("Reason", "Deadline"));
}

#[tokio::test]
async fn runs_opened_by_the_original_start_are_measured_with_the_state_s_function_and_duration() {
    // GIVEN the original start opening runs (no run attributes), finished by
    // the framework's echo and by the original function
    let harness = Harness::new().await;
    let store = harness.store.clone();
    let (client, table) = (harness.table.client.clone(), harness.table.name.clone());
    let lambda = kit::lambda::fake::FakeLambda::accepting(move |invocation| {
        if invocation.function == LEGACY {
            let (client, table) = (client.clone(), table.clone());
            tokio::spawn(async move { legacy::echo(&client, &table, invocation.payload).await });
        } else {
            kit::lambda::fake::run_echo(
                kit::table::as_role(&store, kit::iam::Role::Echo),
                invocation.payload,
                || {},
            );
        }
    })
    .await;
    let mut stream = Stream::new(&harness).await;
    let mut contacts = Vec::new();
    for function in [LEGACY, "dev-rules-integrationEcho"] {
        let contact = new_contact();
        let rule = Rule {
            function,
            payload: r#"{"SleepTime": 0.3}"#,
            ..rule(10)
        };
        rule.seed(&harness.store, &contact, []).await.unwrap();
        let event = kit::contacts::connect_event(&contact);
        legacy::start(
            &harness.table.client,
            &harness.table.name,
            &lambda.client(),
            &contact,
            function,
            rule.payload,
            event,
        )
        .await
        .unwrap();
        contacts.push((contact, function));
    }
    for (contact, _) in &contacts {
        wait_finished(&harness, contact).await;
    }

    // WHEN the stream is delivered, then replayed
    stream.deliver().await;
    replay(&harness).await;

    // THEN each run is measured once, by the function and times the state holds
    let counts = harness.metric("IntegrationCount");
    assert_eq!(counts.len(), 2, "{counts:?}");
    for (contact, function) in &contacts {
        let document = counts
            .iter()
            .find(|d| d["ContactId"] == contact.as_str())
            .expect("the contact's run is measured");
        assert_eq!(document["FunctionName"], *function, "{document}");
        assert_eq!(document["Status"], "DONE");
        let duration = document["IntegrationDuration"]
            .as_f64()
            .expect("a duration");
        assert!(
            (300.0..10_000.0).contains(&duration),
            "{function}: {duration}"
        );
    }
    let state = items(&harness, &contacts[0].0).await;
    assert!(value(&state, INTEGRATION_START).is_some());

    // WHEN a new rule's run replaces one of them, and the stream is replayed
    open_run(&harness.store, &contacts[0].0, LEGACY, 10).await;
    stream.deliver().await;
    replay(&harness).await;
    // THEN neither finished run is measured again
    assert_eq!(harness.metric("IntegrationCount").len(), 2);
}

async fn wait_finished(harness: &Harness, contact: &ContactId) {
    for _ in 0..200 {
        let status = harness.raw_status(contact.as_str()).await;
        if matches!(text(&status, "Value").as_deref(), Some("DONE" | "ERROR")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the run of {contact} did not end within 10 s");
}

#[tokio::test]
async fn records_of_another_table_are_ignored_not_malformed() {
    let harness = Harness::new().await;
    let done = crate::support::records(&crate::support::fixture("completion-done.json"));
    let mut other = done[0].clone();
    other["dynamodb"]["Keys"] = json!({"OrderId": {"B": "AAEC"}});
    other["dynamodb"]["NewImage"] = json!({"OrderId": {"B": "AAEC"}, "Tags": {"SS": ["a"]}});
    other["eventSourceARN"] = json!(
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-20T09:00:00.000"
    );
    let report = harness.deliver(&json!({ "Records": [other] })).await;
    assert_eq!(
        crate::support::outcomes(&report),
        [stream_consumer::Outcome::Ignored("another table's record")]
    );
    assert!(harness.metric("MalformedRecords").is_empty());
}

/// The original check-timeout's writes: TIMEOUT with its end and cause, one batch.
async fn legacy_timeout(harness: &Harness, contact: &ContactId) {
    let changes = [
        (INTEGRATION_STATUS, Some("TIMEOUT".to_owned())),
        (
            INTEGRATION_END,
            Some(format_rules_engine(chrono::Utc::now())),
        ),
        (INTEGRATION_ERROR_CAUSE, Some(TIMEOUT_CAUSE.to_owned())),
    ];
    legacy::write_state(
        &harness.table.client,
        &harness.table.name,
        contact,
        &changes,
    )
    .await
    .expect("the legacy batch");
}

#[tokio::test]
async fn a_late_run_and_its_finish_both_landed_before_the_consumer_looks_are_undone_once() {
    // GIVEN a run timed out at its deadline; then the original marks RUN and
    // finishes, both before the consumer reads the stream
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, run) = legacy_run(&harness, 1).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    harness.store.timeout(&contact, Some(&run)).await.unwrap();
    legacy_writes(&harness, &contact, "RUN").await;
    legacy_writes(&harness, &contact, "DONE").await;

    // WHEN the stream is delivered, then replayed
    stream.deliver().await;
    replay(&harness).await;

    // THEN TIMEOUT stands, the finish is counted late once, the run measured once
    let state = items(&harness, &contact).await;
    assert_eq!(
        value(&state, INTEGRATION_STATUS).as_deref(),
        Some("TIMEOUT")
    );
    assert_eq!(value(&state, OUTPUT), None);
    let late = harness.metric("LateFinishes");
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["LateStatus"], "DONE");
    assert_measured_once(&harness, &run, "IntegrationCount", ("Status", "TIMEOUT"));
    assert_eq!(harness.metric("IntegrationCount").len(), 1);
}

#[tokio::test]
async fn our_timeout_of_a_stripped_run_stands_against_the_late_finish() {
    // GIVEN the original's RUN strips the run, and check-timeout times it out
    // (without a run id) before the consumer has put the identity back
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, _run) = legacy_run(&harness, 1).await;
    legacy_writes(&harness, &contact, "RUN").await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let told = harness.store.timeout(&contact, None).await.unwrap();
    assert_eq!(told, shared::Transition::Applied);
    // WHEN the original finishes late, and the stream is delivered and replayed
    legacy_writes(&harness, &contact, "DONE").await;
    stream.deliver().await;
    replay(&harness).await;
    // THEN TIMEOUT stands, counted once with its function, and the finish is counted late
    let state = items(&harness, &contact).await;
    assert_eq!(
        value(&state, INTEGRATION_STATUS).as_deref(),
        Some("TIMEOUT")
    );
    assert_eq!(
        value(&state, INTEGRATION_ERROR_CAUSE).as_deref(),
        Some(TIMEOUT_CAUSE)
    );
    let counts = harness.metric("IntegrationCount");
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts[0]["Status"], "TIMEOUT");
    assert_eq!(counts[0]["FunctionName"], LEGACY);
    assert_eq!(harness.metric("LateFinishes").len(), 1);
}

#[tokio::test]
async fn the_original_check_timeout_s_timeout_is_what_the_caller_was_told_and_stands() {
    // GIVEN a run of the original's start and function, finished after its
    // deadline, then timed out by the original check-timeout (which tests the
    // deadline before the status)
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let contact = new_contact();
    rule(1).seed(&harness.store, &contact, []).await.unwrap();
    let start = [
        (INTEGRATION_STATUS, Some("START".to_owned())),
        (INTEGRATION_END, None),
        (
            INTEGRATION_START,
            Some(format_rules_engine(chrono::Utc::now())),
        ),
    ];
    legacy::write_state(&harness.table.client, &harness.table.name, &contact, &start)
        .await
        .unwrap();
    legacy_writes(&harness, &contact, "RUN").await;
    legacy_writes(&harness, &contact, "DONE").await;
    legacy_timeout(&harness, &contact).await;
    // WHEN the stream is delivered
    stream.deliver().await;
    // THEN the TIMEOUT stands, no late finish is counted, and the run is measured once
    let state = items(&harness, &contact).await;
    assert_eq!(
        value(&state, INTEGRATION_STATUS).as_deref(),
        Some("TIMEOUT")
    );
    assert!(harness.metric("LateFinishes").is_empty());
    let counts = harness.metric("IntegrationCount");
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts[0]["FunctionName"], LEGACY);
}

#[tokio::test]
async fn a_late_finish_over_our_error_brings_back_the_error_and_its_cause() {
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, run) = legacy_run(&harness, 10).await;
    let removal = [shared::ItemChange::delete(OUTPUT)];
    harness
        .store
        .error(&contact, Some(&run), "CRM down", &removal)
        .await
        .unwrap();
    legacy_writes(&harness, &contact, "DONE").await;
    stream.deliver().await;
    let state = items(&harness, &contact).await;
    assert_eq!(value(&state, INTEGRATION_STATUS).as_deref(), Some("ERROR"));
    assert_eq!(
        value(&state, INTEGRATION_ERROR_CAUSE).as_deref(),
        Some("CRM down")
    );
    assert_eq!(value(&state, OUTPUT), None, "no output without DONE");
    assert!(value(&state, INTEGRATION_LATE_FINISH).is_some());
    assert_measured_once(&harness, &run, "IntegrationCount", ("Status", "ERROR"));
}

#[tokio::test]
async fn a_newer_run_between_the_strip_and_the_consumer_is_left_alone() {
    // GIVEN the original's RUN strips run 1, and a new rule's start opens run 2
    let harness = Harness::new().await;
    let mut stream = Stream::new(&harness).await;
    let (contact, _first) = legacy_run(&harness, 10).await;
    legacy_writes(&harness, &contact, "RUN").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = open_run(&harness.store, &contact, "dev-rules-integrationEcho", 10).await;
    // WHEN the stream is delivered and replayed
    stream.deliver().await;
    replay(&harness).await;
    // THEN run 2's item is as start wrote it, and nothing measured it
    let status = harness.raw_status(contact.as_str()).await;
    assert_eq!(text(&status, "RunId").as_deref(), Some(second.as_str()));
    assert_eq!(text(&status, "Value").as_deref(), Some("START"));
    assert!(!status.contains_key("RepairedAt"), "{status:?}");
    assert!(harness
        .metric_for_run("IntegrationCount", second.as_str())
        .is_empty());
}
