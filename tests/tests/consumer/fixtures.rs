//! Each fixture through the consumer, delivered once and again.

use serde_json::{json, Value};
use shared::IntegrationStatus;
use stream_consumer::Outcome;

use crate::support::{fixture, ids, outcomes, records, Harness};

#[tokio::test]
async fn a_completion_from_each_terminal_status_is_measured_and_stamped() {
    let harness = Harness::new().await;
    for (name, status) in [
        ("completion-done.json", "DONE"),
        ("completion-error.json", "ERROR"),
        ("completion-timeout.json", "TIMEOUT"),
    ] {
        // GIVEN the table as the record left it
        let event = fixture(name);
        harness.seed(&event).await;
        // WHEN the record is delivered
        let report = harness.deliver(&event).await;
        // THEN the run is measured once, by function and status, and stamped
        let expected: IntegrationStatus = status.parse().unwrap();
        assert_eq!(
            outcomes(&report),
            [Outcome::Measured {
                status: expected,
                stamped: true
            }],
            "{name}"
        );
        let (run, contact) = ids(&event);
        let documents = harness.metric_for_run("IntegrationCount", &run);
        assert_eq!(documents.len(), 1, "{name}: {documents:?}");
        assert_eq!(documents[0]["Status"], status);
        assert!(documents[0]["IntegrationDuration"].is_number());
        assert_eq!(documents[0]["ContactId"], contact.as_str());
        let item = harness.raw_status(&contact).await;
        assert!(
            item.contains_key("MeasuredAt") && item.contains_key("MeasuredDurationMs"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_same_batch_delivered_twice_emits_each_metric_once() {
    // GIVEN one batch holding every kind of record, and the table it describes
    let harness = Harness::new().await;
    let names = [
        "completion-done.json",
        "completion-error.json",
        "completion-timeout.json",
        "completion-timeout-swept.json",
        "superseded.json",
        "legacy-writer.json",
        "ttl-removal-aws.json",
        "unrelated-keys.json",
    ];
    let mut all = Vec::new();
    for name in names {
        let event = fixture(name);
        harness.seed(&event).await;
        all.extend(records(&event));
    }
    let batch = json!({ "Records": all });

    // WHEN it is delivered twice
    let first = harness.deliver(&batch).await;
    let counted =
        |h: &Harness| h.metric("IntegrationCount").len() + h.metric("AbandonedRuns").len();
    let after_first = counted(&harness);
    let second = harness.deliver(&batch).await;

    // THEN the first delivery measured six runs and the second none
    let measured = |report: &stream_consumer::BatchReport| {
        outcomes(report)
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Outcome::Measured { .. }
                        | Outcome::AbandonedPastDeadline
                        | Outcome::AbandonedSuperseded
                )
            })
            .count()
    };
    assert_eq!(measured(&first), 6, "{:?}", outcomes(&first));
    assert_eq!(after_first, 6);
    assert_eq!(measured(&second), 0, "{:?}", outcomes(&second));
    assert_eq!(counted(&harness), 6);
    assert!(first.response().batch_item_failures.is_empty());
}

#[tokio::test]
async fn a_run_timed_out_by_the_sweep_counts_as_abandoned_not_as_a_timeout() {
    let harness = Harness::new().await;
    let event = fixture("completion-timeout-swept.json");
    let report = harness.seed_and_deliver(&event).await;
    assert_eq!(outcomes(&report), [Outcome::AbandonedPastDeadline]);
    let (run, _) = ids(&event);
    let abandoned = harness.metric_for_run("AbandonedRuns", &run);
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0]["Reason"], "Deadline");
    assert!(harness.metric("IntegrationCount").is_empty());
}

#[tokio::test]
async fn an_open_run_replaced_by_a_new_start_is_counted_as_abandoned_once() {
    let harness = Harness::new().await;
    let event = fixture("superseded.json");
    harness.seed(&event).await;
    assert_eq!(
        outcomes(&harness.deliver(&event).await),
        [Outcome::AbandonedSuperseded]
    );
    assert_eq!(
        outcomes(&harness.deliver(&event).await),
        [Outcome::AlreadyMeasured]
    );
    let old_run = event["Records"][0]["dynamodb"]["OldImage"]["RunId"]["S"]
        .as_str()
        .unwrap();
    let abandoned = harness.metric_for_run("AbandonedRuns", old_run);
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0]["Reason"], "Superseded");
    assert_eq!(abandoned[0]["FunctionName"], "dev-rules-integrationCrm");
}

#[tokio::test]
async fn an_legacy_writer_s_completion_is_measured_as_the_run_of_the_old_image() {
    let harness = Harness::new().await;
    let event = fixture("legacy-writer.json");
    let report = harness.seed_and_deliver(&event).await;
    assert_eq!(
        outcomes(&report),
        [Outcome::Measured {
            status: IntegrationStatus::Done,
            stamped: true
        }]
    );
    let (run, _) = ids(&event);
    let documents = harness.metric_for_run("IntegrationCount", &run);
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0]["FunctionName"], "dev-rules-integrationLegacy");
    assert_eq!(documents[0]["IntegrationDuration"], json!(2000.0));
}

#[tokio::test]
async fn removals_and_other_state_keys_are_ignored_without_a_metric() {
    let harness = Harness::new().await;
    for name in [
        "ttl-removal-aws.json",
        "ttl-removal-local.json",
        "unrelated-keys.json",
    ] {
        let report = harness.deliver(&fixture(name)).await;
        assert!(
            outcomes(&report)
                .iter()
                .all(|o| matches!(o, Outcome::Ignored(_))),
            "{name}: {:?}",
            outcomes(&report)
        );
    }
    assert!(harness.metric("IntegrationCount").is_empty());
    assert!(harness.metric("AbandonedRuns").is_empty());
}

#[tokio::test]
async fn a_malformed_record_is_counted_and_skipped_and_the_rest_is_processed() {
    let harness = Harness::new().await;
    let event = fixture("malformed.json");
    let report = harness.seed_and_deliver(&event).await;
    let got = outcomes(&report);
    assert!(matches!(got[0], Outcome::Ignored(_)));
    assert!(
        matches!(&got[1], Outcome::Malformed(why) if why.contains("FINISHED")),
        "{got:?}"
    );
    assert!(matches!(got[2], Outcome::Measured { .. }));
    assert!(report.response().batch_item_failures.is_empty());
    let malformed: Vec<Value> = harness.metric("MalformedRecords");
    assert_eq!(malformed.len(), 1);
    assert_eq!(malformed[0]["MalformedRecords"], json!(1.0));
}
