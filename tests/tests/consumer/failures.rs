//! A record that fails for a reason worth retrying stops its batch there.

use std::sync::Arc;

use serde_json::json;
use shared::{Store, SystemClock};
use stream_consumer::{CaptureSink, Consumer, ConsumerConfig, Outcome};

use crate::support::{fixture, outcomes, records, Harness};

/// A store whose DynamoDB is unreachable: every call fails, and may be retried.
async fn unreachable_store() -> Store {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "t", "t", None, None, "test",
        ))
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

#[tokio::test]
async fn a_failing_record_in_the_middle_stops_the_batch_and_the_retry_measures_each_run_once() {
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
    let broken_sink = Arc::new(CaptureSink::default());
    let broken = Consumer::new(
        unreachable_store().await,
        ConsumerConfig::default(),
        broken_sink.clone(),
    );
    let report = broken.stream_batch(&batch).await;

    // THEN it stops at the first completion and reports it as the batch item failure
    let got = outcomes(&report);
    assert!(matches!(got[0], Outcome::Ignored(_)), "{got:?}");
    assert!(matches!(got[1], Outcome::Failed(_)), "{got:?}");
    assert!(
        got[2..].iter().all(|o| *o == Outcome::NotProcessed),
        "{got:?}"
    );
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
