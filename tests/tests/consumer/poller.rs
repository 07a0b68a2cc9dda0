//! End to end through the stream poller: runs written to the table, read back
//! from DynamoDB Local's stream, delivered to the consumer as Lambda would.

use std::{sync::Mutex, time::Duration};

use kit::stream::{
    poller::{Poller, PollerConfig},
    target::{ConsumerTarget, InProcess, TargetError},
};
use kit::ManualClock;
use kit::{new_contact, TestTable};
use serde_json::{json, Value};
use shared::{ContactId, ItemChange, RunId, Store};
use stream_consumer::FILTER_PATTERN;

use crate::support::{open_run, Harness, ECHO};

/// What a run should come to in the metrics: (metric, dimension name, dimension value).
type Expected = (RunId, &'static str, &'static str, &'static str);

/// The producer: what integration-start and integration-echo do to the table,
/// through the same Store calls. Kept in this one function so the real handlers
/// can take its place once they are on the same branch.
async fn produce(store: &Store, clock: &ManualClock) -> Vec<Expected> {
    let mut expected = Vec::new();
    let echo = |contact: ContactId| async move {
        let run = open_run(store, &contact, ECHO, 10).await;
        store.run(&contact, Some(&run)).await.unwrap();
        let output = [ItemChange::put("EchoOutput", r#"{"echo":"hello"}"#)];
        store.done(&contact, Some(&run), &output).await.unwrap();
        run
    };
    for _ in 0..3 {
        expected.push((
            echo(new_contact()).await,
            "IntegrationCount",
            "Status",
            "DONE",
        ));
    }
    // A forced error.
    let contact = new_contact();
    let run = open_run(store, &contact, ECHO, 10).await;
    store.run(&contact, Some(&run)).await.unwrap();
    store
        .error(&contact, Some(&run), "ForcedError", &[])
        .await
        .unwrap();
    expected.push((run, "IntegrationCount", "Status", "ERROR"));
    // A run superseded by a new rule's run, which then finishes.
    let contact = new_contact();
    let first = open_run(store, &contact, "dev-rules-integrationCrm", 10).await;
    expected.push((first, "AbandonedRuns", "Reason", "Superseded"));
    expected.push((echo(contact).await, "IntegrationCount", "Status", "DONE"));
    // A caller who hung up: nobody calls check-timeout, the sweep will.
    let run = open_run(store, &new_contact(), ECHO, 1).await;
    expected.push((run, "AbandonedRuns", "Reason", "Deadline"));
    clock.advance(Duration::from_secs(60));
    expected
}

pub async fn poller<T: ConsumerTarget>(table: &TestTable, target: T) -> Poller<T> {
    let sdk = kit::aws::sdk_config().await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let config = PollerConfig {
        retry_delay: Duration::from_millis(10),
        ..PollerConfig::default()
    };
    Poller::for_table(
        &table.client,
        streams,
        &table.name,
        FILTER_PATTERN,
        target,
        config,
    )
    .await
    .expect("a poller on the table's stream")
}

#[tokio::test]
async fn start_echo_consumer_end_to_end_through_the_poller_measures_each_run_once() {
    // GIVEN runs that finish, fail, are superseded or abandoned
    let (harness, clock) = Harness::with_manual_clock().await;
    let expected = produce(&harness.store, &clock).await;

    // WHEN the poller delivers the stream, the schedule sweeps, and the poller delivers again
    let mut first = poller(&harness.table, InProcess(harness.consumer.clone())).await;
    let report = first.drain(10).await.unwrap();
    assert_eq!(report.skipped, 0);
    assert!(
        report.filtered_out > 0,
        "other keys and the stamps are filtered out: {report:?}"
    );
    harness.consumer.scheduled().await.unwrap();
    first.drain(10).await.unwrap();
    // ... and the whole stream is replayed from its start by a second poller
    let mut replay = poller(&harness.table, InProcess(harness.consumer.clone())).await;
    replay.drain(10).await.unwrap();

    // THEN every run has exactly one metric, of the right kind
    for (run, metric, dimension, value) in &expected {
        let documents = harness.metric_for_run(metric, run.as_str());
        assert_eq!(
            documents.len(),
            1,
            "{metric} {dimension}={value}: {documents:?}"
        );
        assert_eq!(documents[0][*dimension], *value);
    }
    let total = harness.metric("IntegrationCount").len() + harness.metric("AbandonedRuns").len();
    assert_eq!(total, expected.len());
}

/// The real producers: integration-start invoking the real echo function behind
/// a Lambda Invoke API endpoint, on the system clock.
#[tokio::test]
async fn real_start_and_echo_runs_through_the_poller_are_measured_once_each() {
    let harness = Harness::new().await;
    let store = &harness.store;
    let lambda = kit::lambda::fake::FakeLambda::accepting(kit::lambda::fake::real_echo(
        kit::table::as_role(store, kit::iam::Role::Echo),
    ))
    .await;
    let config = integration_start::StartConfig::from_lookup(|name| match name {
        "STATE_TABLE" => Some(harness.table.name.clone()),
        "ALLOWED_FUNCTIONS" => Some("dev-rules-integration*".into()),
        _ => None,
    })
    .unwrap();
    let deps = integration_start::Deps {
        store: kit::table::as_role(store, kit::iam::Role::Start),
        lambda: lambda.client(),
        config,
        instance: shared::connect::Instance::new(),
    };
    let mut expected = Vec::new();
    for payload in [r#"{"n": 1}"#, r#"{"ForcedError": "down"}"#, r#"{"n": 3}"#] {
        let contact = new_contact();
        let mut state = shared::ContactState::default();
        let changes: Vec<_> = [
            ("CurrentRule_functionArn", "dev-rules-integrationEcho"),
            ("CurrentRule_functionOutputKey", "EchoResult"),
            ("CurrentRule_functionPayload", payload),
            ("CurrentRule_functionTimeout", "5"),
        ]
        .into_iter()
        .map(|(k, v)| state.set(k, json!(v)).unwrap())
        .collect();
        store.write(&contact, &changes).await.unwrap();
        let event = json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {"InitialContactId": contact.as_str()}}});
        // start may answer before the run ends (its wait is bounded, and a busy
        // machine slows echo down): what is measured is what the run ended as.
        integration_start::handle(event, None, &deps).await;
        let ended = finished(store, &contact).await;
        let expected_status = if payload.contains("ForcedError") {
            "ERROR"
        } else {
            "DONE"
        };
        assert_eq!(ended.status.as_str(), expected_status, "{payload}");
        expected.push((ended.run_id.unwrap(), expected_status));
    }

    let mut live = poller(&harness.table, InProcess(harness.consumer.clone())).await;
    live.drain(10).await.unwrap();
    poller(&harness.table, InProcess(harness.consumer.clone()))
        .await
        .drain(10)
        .await
        .unwrap();

    for (run, status) in &expected {
        let documents = harness.metric_for_run("IntegrationCount", run.as_str());
        assert_eq!(documents.len(), 1, "run {run}: {documents:?}");
        assert_eq!(documents[0]["Status"], *status);
        assert_eq!(documents[0]["FunctionName"], "dev-rules-integrationEcho");
    }
}

/// The contact's run once it has ended (echo runs on a thread of its own).
async fn finished(store: &Store, contact: &ContactId) -> shared::StatusItem {
    for _ in 0..200 {
        let record = store.status(contact).await.unwrap().expect("a run");
        if record.status.is_terminal() {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the run of {contact} did not end within 10 s");
}

/// The consumer, failing the second record of its first batch once.
struct FailOnce {
    inner: InProcess,
    deliveries: Mutex<Vec<Vec<String>>>,
}

impl ConsumerTarget for &FailOnce {
    async fn invoke(&self, event: Value) -> Result<Value, TargetError> {
        let sequences: Vec<String> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned())
            .collect();
        let first = {
            let mut deliveries = self.deliveries.lock().unwrap();
            deliveries.push(sequences.clone());
            deliveries.len() == 1
        };
        if first && sequences.len() > 1 {
            return Ok(json!({"batchItemFailures": [{"itemIdentifier": sequences[1]}]}));
        }
        self.inner.invoke(event).await
    }
}

#[tokio::test]
async fn the_poller_delivers_again_from_the_failed_record_on() {
    let (harness, clock) = Harness::with_manual_clock().await;
    produce(&harness.store, &clock).await;
    let target = FailOnce {
        inner: InProcess(harness.consumer.clone()),
        deliveries: Mutex::new(Vec::new()),
    };

    let report = poller(&harness.table, &target)
        .await
        .drain(10)
        .await
        .unwrap();

    let deliveries = target.deliveries.lock().unwrap().clone();
    assert!(deliveries.len() >= 2, "{deliveries:?}");
    assert_eq!(
        deliveries[1],
        deliveries[0][1..],
        "the retry starts at the failed record"
    );
    assert_eq!(report.redeliveries, 1);
}

#[tokio::test]
async fn runs_of_one_contact_are_measured_once_however_their_records_and_newer_runs_interleave() {
    let (harness, _clock) = Harness::with_manual_clock().await;
    let mut live = poller(&harness.table, InProcess(harness.consumer.clone())).await;
    let finish = |contact: ContactId| {
        let store = harness.store.clone();
        async move {
            let run = open_run(&store, &contact, ECHO, 10).await;
            store.done(&contact, Some(&run), &[]).await.unwrap();
            run
        }
    };

    // GIVEN a contact whose runs are each measured before the next starts, so
    // each stamped item is replaced by the next run's START ...
    let chained = new_contact();
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(finish(chained.clone()).await);
        live.drain(10).await.unwrap();
    }
    // ... and a contact whose three runs all finish before the consumer sees any,
    // so the first two completions find their item held by a newer run
    let hurried = new_contact();
    for _ in 0..3 {
        runs.push(finish(hurried.clone()).await);
    }
    live.drain(10).await.unwrap();

    // WHEN the whole stream is replayed from its start
    let mut replay = poller(&harness.table, InProcess(harness.consumer.clone())).await;
    replay.drain(10).await.unwrap();

    // THEN each run was measured exactly once
    for run in &runs {
        let documents = harness.metric_for_run("IntegrationCount", run.as_str());
        assert_eq!(documents.len(), 1, "run {run}: {documents:?}");
    }
    assert_eq!(harness.metric("IntegrationCount").len(), runs.len());
}
