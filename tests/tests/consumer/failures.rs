//! A record that fails for a reason worth retrying stops its batch there.

use std::{sync::Arc, time::Duration};

use kit::faults::FailNth;
use kit::metrics::CaptureSink;
use serde_json::{json, Value};
use shared::{Store, SystemClock};
use stream_consumer::{Consumer, ConsumerConfig, MetricsSink, Outcome};

use crate::support::{
    consumer_off_the_gate, consumer_on, fixture, ids, outcomes, records, Harness,
};

/// A store whose DynamoDB is unreachable: every call fails, and may be retried.
async fn unreachable_store() -> Store {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let sdk = kit::aws::sdk_loader()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        "unreachable",
        Arc::new(SystemClock),
    )
}

/// A consumer that gives a failed record back to Lambda at once.
fn impatient() -> ConsumerConfig {
    ConsumerConfig {
        measure_patience: Duration::ZERO,
        ..ConsumerConfig::default()
    }
}

#[tokio::test]
async fn a_failing_record_is_the_batch_item_failure_and_the_retry_measures_each_run_once() {
    // GIVEN a batch: another key, three completions, another key in between
    let harness = Harness::new().await;
    let unrelated = records(&fixture("unrelated-keys.json"));
    let mut batch = vec![unrelated[0].clone()];
    for name in ["completion-done.json", "completion-error.json"] {
        let event = fixture(name);
        harness.seed(&event).await;
        batch.extend(records(&event));
    }
    batch.push(unrelated[1].clone());
    let timeout = fixture("completion-timeout.json");
    harness.seed(&timeout).await;
    batch.extend(records(&timeout));
    let failing_sequence = batch[1]["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_owned();

    // WHEN a consumer that cannot reach DynamoDB gets it
    let (broken, broken_sink) = consumer_off_the_gate(unreachable_store().await, impatient());
    let report = broken.stream_batch(&batch).await;

    // THEN every completion (each a contact of its own) fails, the other keys
    // are ignored, and the first failure is the batch item failure
    let got = outcomes(&report);
    assert!(matches!(got[0], Outcome::Ignored(_)), "{got:?}");
    for completion in [1, 2, 4] {
        assert!(matches!(got[completion], Outcome::Failed(_)), "{got:?}");
    }
    assert!(matches!(got[3], Outcome::Ignored(_)), "{got:?}");
    let failures = report.response().batch_item_failures;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].item_identifier.as_deref(),
        Some(failing_sequence.as_str())
    );
    assert!(broken_sink
        .documents()
        .iter()
        .all(|d| d.get("IntegrationCount").is_none()));
    let answer = broken.handle(json!({ "Records": batch })).await.unwrap();
    assert_eq!(
        answer["batchItemFailures"][0]["itemIdentifier"],
        failing_sequence.as_str()
    );

    // WHEN Lambda delivers again from the failed record on, then the whole batch once more
    let retry = harness.consumer.stream_batch(&batch[1..]).await;
    let again = harness.consumer.stream_batch(&batch).await;

    // THEN each of the three runs is measured exactly once
    let measured = outcomes(&retry)
        .iter()
        .filter(|o| matches!(o, Outcome::Measured { .. }))
        .count();
    assert_eq!(measured, 3, "{:?}", outcomes(&retry));
    assert!(outcomes(&again)
        .iter()
        .all(|o| matches!(o, Outcome::Ignored(_) | Outcome::AlreadyMeasured)));
    assert_eq!(harness.metric("IntegrationCount").len(), 3);
}

#[tokio::test]
async fn an_event_of_neither_kind_is_refused_and_not_worth_retrying() {
    let harness = Harness::new().await;
    let err = harness
        .consumer
        .handle(json!({"keepWarm": {"name": "x"}}))
        .await
        .unwrap_err();
    assert!(matches!(err, stream_consumer::ConsumerError::UnknownEvent));
    assert!(!err.is_retryable());
}

/// A batch of three completions (DONE, ERROR, TIMEOUT), seeded, with the run
/// ids in the batch's order.
async fn three_completions(harness: &Harness) -> (Vec<Value>, Vec<String>) {
    let mut batch = Vec::new();
    let mut runs = Vec::new();
    for name in [
        "completion-done.json",
        "completion-error.json",
        "completion-timeout.json",
    ] {
        let event = fixture(name);
        harness.seed(&event).await;
        runs.push(ids(&event).0);
        batch.extend(records(&event));
    }
    (batch, runs)
}

fn measured_runs(sink: &CaptureSink) -> Vec<String> {
    sink.documents()
        .iter()
        .filter(|d| d.get("IntegrationCount").is_some())
        .filter_map(|d| d["RunId"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_fault_after_measured_records_is_retried_from_there_and_nothing_is_measured_twice() {
    // GIVEN three completions, and a consumer whose second stamp write is not
    // sent and which gives a failed record back at once
    let harness = Harness::new().await;
    let (batch, runs) = three_completions(&harness).await;
    let fault = FailNth::new("UpdateItem", 2);
    let (faulty, sink) = consumer_on(harness.table.store_intercepted(fault.clone()), impatient());

    // WHEN it gets the batch
    let report = faulty.stream_batch(&batch).await;

    // THEN one run (whichever contact's stamp came second) is the batch item
    // failure, and the other two, side by side with it, are measured
    let got = outcomes(&report);
    let failed: Vec<usize> = (0..got.len())
        .filter(|&i| matches!(got[i], Outcome::Failed(_)))
        .collect();
    assert_eq!(failed.len(), 1, "{got:?}");
    let failed = failed[0];
    assert_eq!(
        fault.seen(),
        3,
        "the three stamps were sent side by side, one refused"
    );
    let failures = report.response().batch_item_failures;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].item_identifier.as_deref(),
        batch[failed]["dynamodb"]["SequenceNumber"].as_str()
    );
    let mut measured = measured_runs(&sink);
    measured.sort();
    let mut others: Vec<String> = (0..runs.len())
        .filter(|&i| i != failed)
        .map(|i| runs[i].clone())
        .collect();
    others.sort();
    assert_eq!(measured, others);

    // WHEN Lambda delivers again from the failed record on (the same consumer,
    // its fault spent), then the whole batch once more
    let retry = faulty.stream_batch(&batch[failed..]).await;
    let again = faulty.stream_batch(&batch).await;

    // THEN the failed run is measured by the retry, the others after it are
    // found measured, and nothing is measured twice
    let retried = outcomes(&retry);
    assert!(
        matches!(retried[0], Outcome::Measured { .. }),
        "{retried:?}"
    );
    assert!(
        retried[1..].iter().all(|o| *o == Outcome::AlreadyMeasured),
        "{retried:?}"
    );
    assert!(outcomes(&again)
        .iter()
        .all(|o| *o == Outcome::AlreadyMeasured));
    let mut measured = measured_runs(&sink);
    measured.sort();
    let mut expected = runs.clone();
    expected.sort();
    assert_eq!(measured, expected);
}

/// Stands for a consumer process that dies right after its stamp landed and
/// before its metric line was written: the write panics, which ends the task.
struct DiesOnWrite;

impl MetricsSink for DiesOnWrite {
    fn write_line(&self, _line: String) {
        panic!("the consumer died between the stamp and the metric");
    }
}

#[tokio::test]
async fn a_consumer_dying_between_stamp_and_metric_loses_that_one_run_s_metric_and_nothing_else() {
    // GIVEN three completions
    let harness = Harness::new().await;
    let (batch, runs) = three_completions(&harness).await;

    // WHEN a consumer stamps the first run and dies before writing its metric
    let dying = Consumer::new(
        kit::table::as_role(&harness.table.store(), kit::iam::Role::Consumer),
        ConsumerConfig::default(),
        Arc::new(DiesOnWrite),
    );
    let first = batch.clone();
    let died = tokio::spawn(async move { dying.stream_batch(&first).await }).await;
    assert!(died.unwrap_err().is_panic(), "the consumer died");

    // AND Lambda, seeing no answer, delivers the whole batch again to a new instance
    let report = harness.consumer.stream_batch(&batch).await;

    // THEN the runs in flight at the death (contacts are worked on side by
    // side) are already stamped and not measured again: their metrics are
    // lost; every other run is measured exactly once
    let got = outcomes(&report);
    let lost: Vec<usize> = (0..got.len())
        .filter(|&i| got[i] == Outcome::AlreadyMeasured)
        .collect();
    assert!(!lost.is_empty(), "{got:?}");
    assert!(
        (0..got.len())
            .filter(|i| !lost.contains(i))
            .all(|i| matches!(got[i], Outcome::Measured { .. })),
        "{got:?}"
    );
    let mut measured = measured_runs(&harness.sink);
    measured.sort();
    let mut expected: Vec<String> = (0..runs.len())
        .filter(|i| !lost.contains(i))
        .map(|i| runs[i].clone())
        .collect();
    expected.sort();
    assert_eq!(measured, expected);
    // The loss is visible: the stamp says the run was measured, by whom and when.
    for &i in &lost {
        let contact = batch[i]["dynamodb"]["Keys"]["ContactId"]["S"]
            .as_str()
            .unwrap();
        let status = harness.raw_status(contact).await;
        assert!(status.contains_key("MeasuredAt"), "{status:?}");
    }
}

#[tokio::test]
async fn a_stamp_that_landed_but_whose_answer_was_lost_is_recognised_and_measured_once() {
    // GIVEN three completions, and a consumer whose first stamp reaches DynamoDB
    // but whose answer is lost (a timeout on a slow or restarting DynamoDB)
    let harness = Harness::new().await;
    let (batch, runs) = three_completions(&harness).await;
    let fault = FailNth::answer_lost("UpdateItem", 1);
    let store = harness.table.store_intercepted(fault.clone());
    let (consumer, sink) = consumer_on(store, ConsumerConfig::default());

    // WHEN it gets the batch
    let report = consumer.stream_batch(&batch).await;

    // THEN its retry, with the same token, finds its own stamp: every run is
    // measured by this delivery, once
    let got = outcomes(&report);
    assert!(
        got.iter().all(|o| matches!(o, Outcome::Measured { .. })),
        "{got:?}"
    );
    assert!(fault.seen() >= 2, "the stamp was retried");
    let mut measured = measured_runs(&sink);
    measured.sort();
    let mut expected = runs;
    expected.sort();
    assert_eq!(measured, expected);
}

#[tokio::test]
async fn without_patience_a_stamp_whose_answer_was_lost_costs_that_run_s_metric() {
    // The bound the patience is for: given the record back at once, the next
    // delivery finds a stamp it cannot tell from an earlier consumer's.
    let harness = Harness::new().await;
    let (batch, runs) = three_completions(&harness).await;
    let store = harness
        .table
        .store_intercepted(FailNth::answer_lost("UpdateItem", 1));
    let (consumer, sink) = consumer_on(store, impatient());
    let first = consumer.stream_batch(&batch).await;
    // The stamps are sent side by side: the first one sent is whichever
    // contact's came first, the one record that failed.
    let got = outcomes(&first);
    let failed: Vec<usize> = (0..got.len())
        .filter(|&i| matches!(got[i], Outcome::Failed(_)))
        .collect();
    assert_eq!(failed.len(), 1, "{got:?}");
    let retry = consumer.stream_batch(&batch).await;
    assert_eq!(outcomes(&retry)[failed[0]], Outcome::AlreadyMeasured);
    let mut measured = measured_runs(&sink);
    measured.sort();
    let mut others: Vec<String> = (0..runs.len())
        .filter(|&i| i != failed[0])
        .map(|i| runs[i].clone())
        .collect();
    others.sort();
    assert_eq!(measured, others);
}

/// Keeps every batch the stream delivers, answering each as fully processed.
#[derive(Clone, Default)]
struct Kept(Arc<std::sync::Mutex<Vec<Value>>>);

impl kit::stream::target::ConsumerTarget for Kept {
    async fn invoke(&self, event: Value) -> Result<Value, kit::stream::target::TargetError> {
        let records = event["Records"].as_array().cloned().unwrap_or_default();
        self.0.lock().unwrap().extend(records);
        Ok(json!({"batchItemFailures": []}))
    }
}

#[tokio::test]
async fn a_failing_contact_holds_back_only_its_own_later_records_each_contact_s_in_order() {
    // GIVEN a stream batch of three contacts' completions: contact A's two
    // runs, one after the other, and B's and C's runs around them
    let harness = Harness::new().await;
    let contacts: Vec<_> = (0..3).map(|_| kit::new_contact()).collect();
    let mut runs = std::collections::HashMap::new();
    for (contact, n) in [(0, 1), (1, 1), (0, 2), (2, 1)] {
        let contact = &contacts[contact];
        let run =
            crate::support::open_run(&harness.store, contact, "dev-rules-integrationEcho", 10)
                .await;
        harness.store.done(contact, Some(&run), &[]).await.unwrap();
        runs.insert(run.to_string(), (contact.clone(), n));
    }
    let kept = Kept::default();
    let mut stream = crate::poller::poller(&harness.table, kept.clone()).await;
    stream.drain(10).await.unwrap();
    let batch = kept.0.lock().unwrap().clone();
    let contact_of = |record: &Value| {
        record["dynamodb"]["Keys"]["ContactId"]["S"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = contacts[0].to_string();
    // A's first completion: its first write (A's START only opened the run).
    let first_of_a = batch
        .iter()
        .position(|r| contact_of(r) == a && r["dynamodb"]["NewImage"]["Value"]["S"] == "DONE")
        .unwrap();

    // WHEN a consumer whose every write for contact A fails gets it
    let fault = kit::faults::FailFor::new("UpdateItem", a.clone());
    let (faulty, sink) = consumer_on(harness.table.store_intercepted(fault.clone()), impatient());
    let report = faulty.stream_batch(&batch).await;

    // THEN A's first record fails and is the batch item failure, A's later
    // records wait, and B's and C's, before and after it, are measured
    let got = outcomes(&report);
    assert!(fault.failed() >= 1);
    for (i, record) in batch.iter().enumerate() {
        let of_a = contact_of(record) == a;
        match &got[i] {
            Outcome::Failed(_) => assert_eq!(i, first_of_a, "{got:?}"),
            Outcome::NotProcessed => assert!(of_a && i > first_of_a, "{got:?}"),
            Outcome::Measured { .. } => assert!(!of_a, "{got:?}"),
            Outcome::Ignored(_) => {}
            other => panic!("record {i}: {other:?}"),
        }
    }
    let measured_first = measured_runs(&sink);
    assert_eq!(measured_first.len(), 2, "B's and C's runs: {got:?}");
    let failures = report.response().batch_item_failures;
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].item_identifier.as_deref(),
        batch[first_of_a]["dynamodb"]["SequenceNumber"].as_str()
    );

    // WHEN Lambda delivers again from the failed record on, to a healthy consumer
    let retry = harness.consumer.stream_batch(&batch[first_of_a..]).await;

    // THEN A's runs are measured in their order, and nothing before the
    // failure, nor B's or C's after it, is measured twice
    assert!(outcomes(&retry).iter().all(|o| matches!(
        o,
        Outcome::Measured { .. } | Outcome::AlreadyMeasured | Outcome::Ignored(_)
    )));
    let measured_again = measured_runs(&harness.sink);
    let order_of_a: Vec<u32> = measured_again.iter().map(|run| runs[run].1).collect();
    assert_eq!(order_of_a, [1, 2], "only A's runs, first to last");
    let mut all: Vec<String> = measured_first.into_iter().chain(measured_again).collect();
    all.sort();
    let mut expected: Vec<String> = runs.keys().cloned().collect();
    expected.sort();
    assert_eq!(all, expected, "every run measured exactly once");
}
