//! A refusal end to end: the consumer's role without one grant its repair of
//! an original writer's put needs (`dynamodb:ConditionCheckItem`, for the
//! transaction's condition check), refused by the IAM gate as AWS refuses it,
//! and what the consumer does with the denial: it logs and skips the record,
//! since no retry brings a grant, rather than holding the shard for Lambda's
//! hour of retries. With the template's grants the same record is repaired.

use kit::{
    iam::{gate::Gate, Policies, Role},
    new_contact,
    stream::target::InProcess,
    Rule,
};
use shared::store::INTEGRATION_STATUS;
use stream_consumer::ConsumerConfig;

use crate::{
    poller::poller,
    support::{consumer_off_the_gate, open_run, Harness},
};

const LEGACY: &str = "dev-rules-integrationLegacy";

#[tokio::test]
async fn a_consumer_refused_a_grant_skips_the_record_at_once_and_its_grant_repairs_it() {
    // GIVEN a run of ours that the original function marked RUN with a bare put
    let harness = Harness::new().await;
    let contact = new_contact();
    let rule = Rule {
        name: "Legacy lookup",
        function: LEGACY,
        output_key: "LegacyResult",
        timeout_s: 10,
        payload: "{}",
    };
    rule.seed(&harness.store, &contact, []).await.unwrap();
    let run = open_run(&harness.store, &contact, LEGACY, 10).await;
    kit::legacy::write_state(
        &harness.table.client,
        &harness.table.name,
        &contact,
        &[(INTEGRATION_STATUS, Some("RUN".into()))],
    )
    .await
    .unwrap();

    // WHEN a consumer whose role lacks dynamodb:ConditionCheckItem reads the stream
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let lacking = Policies::for_stack(&harness.table.name, "")
        .without(Role::Consumer, "dynamodb:ConditionCheckItem");
    let gate = Gate::start(&upstream, lacking).await.unwrap();
    let store = kit::table::through(&harness.store, &gate.url, Role::Consumer);
    let (refused, _) = consumer_off_the_gate(store, ConsumerConfig::default());
    let (logs, guard) = kit::logs::Logs::capture();
    let report = poller(&harness.table, InProcess(std::sync::Arc::new(refused)))
        .await
        .drain(10)
        .await
        .unwrap();
    drop(guard);

    // THEN the denial is logged with the record, which is skipped, not given back
    // to Lambda to retry, and nothing was written
    let skipped: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|line| line["message"] == "RECORD_FAILED_SKIPPED")
        .collect();
    assert_eq!(skipped.len(), 1, "{}", logs.text());
    let reason = skipped[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("AccessDeniedException"), "{reason}");
    assert_eq!(report.redeliveries, 0, "{report:?}");
    let status = harness.raw_status(contact.as_str()).await;
    assert!(!status.contains_key("RunId"), "{status:?}");

    // WHEN the consumer with the template's grants reads the stream again
    poller(&harness.table, InProcess(harness.consumer.clone()))
        .await
        .drain(10)
        .await
        .unwrap();

    // THEN the run has its identity back
    let status = harness.raw_status(contact.as_str()).await;
    assert_eq!(
        status.get("RunId").and_then(|v| v.as_s().ok()),
        Some(&run.to_string())
    );
}
