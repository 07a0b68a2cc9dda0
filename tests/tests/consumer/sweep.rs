//! The abandoned-run sweep, alone and racing check-timeout.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use kit::new_contact;
use serde_json::json;
use shared::{table::TIMED_OUT_BY, IntegrationStatus, Transition};

use crate::support::{open_run, Harness, ECHO};

#[tokio::test]
async fn the_sweep_times_out_only_runs_past_their_deadline_plus_the_grace_period() {
    // GIVEN three open runs: due, past the deadline but within the grace, not due
    let (harness, clock) = Harness::with_manual_clock().await;
    let store = &harness.store;
    let (due, in_grace, open) = (new_contact(), new_contact(), new_contact());
    open_run(store, &due, ECHO, 1).await;
    clock.advance(Duration::from_secs(20));
    open_run(store, &in_grace, ECHO, 1).await;
    open_run(store, &open, ECHO, 60).await;
    // 32 s after the first start: its deadline (1 s) plus 30 s grace has passed;
    // the second's deadline has passed too, its grace has not.
    clock.advance(Duration::from_secs(12));

    // WHEN the schedule fires
    let answer = harness
        .consumer
        .handle(json!({"detail-type": "Scheduled Event", "source": "aws.events"}))
        .await
        .unwrap();

    // THEN only the due run is timed out, marked as the sweep's
    assert_eq!(answer["timedOut"], 1);
    let status = |c| store.status(c);
    assert_eq!(
        status(&due).await.unwrap().unwrap().status,
        IntegrationStatus::Timeout
    );
    assert_eq!(
        status(&in_grace).await.unwrap().unwrap().status,
        IntegrationStatus::Start
    );
    assert_eq!(
        status(&open).await.unwrap().unwrap().status,
        IntegrationStatus::Start
    );
    let item = harness.raw_status(due.as_str()).await;
    assert_eq!(
        item.get(TIMED_OUT_BY),
        Some(&AttributeValue::S("sweep".into()))
    );
    assert!(
        !item.contains_key("PendingShard"),
        "a finished run leaves the index"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweep_racing_check_timeout_applies_exactly_one_timeout_per_run() {
    let (harness, clock) = Harness::with_manual_clock().await;
    let store = &harness.store;
    for round in 0..8 {
        // GIVEN runs past their deadline and the grace period
        let mut runs = Vec::new();
        for _ in 0..6 {
            let contact = new_contact();
            let run = open_run(store, &contact, ECHO, 1).await;
            runs.push((contact, run));
        }
        clock.advance(Duration::from_secs(40));

        // WHEN the sweep and check-timeout time them out at the same moment
        let consumer = harness.consumer.clone();
        let sweep = tokio::spawn(async move { consumer.scheduled().await.unwrap() });
        let mut checks = tokio::task::JoinSet::new();
        for (i, (contact, run)) in runs.clone().into_iter().enumerate() {
            let store = store.clone();
            // Staggered, so some land before the sweep reaches their run and some after.
            let delay = Duration::from_millis(40 * i as u64);
            checks.spawn(async move {
                tokio::time::sleep(delay).await;
                store.timeout(&contact, Some(&run)).await.unwrap()
            });
        }
        let mut by_check_timeout = 0;
        while let Some(outcome) = checks.join_next().await {
            if outcome.unwrap() == Transition::Applied {
                by_check_timeout += 1;
            }
        }
        let by_sweep = sweep.await.unwrap().timed_out;

        // THEN every run is TIMEOUT, applied once: by one or the other
        assert_eq!(by_sweep + by_check_timeout, runs.len(), "round {round}");
        let mut marked = 0;
        for (contact, _) in &runs {
            assert_eq!(
                store.status(contact).await.unwrap().unwrap().status,
                IntegrationStatus::Timeout
            );
            if harness
                .raw_status(contact.as_str())
                .await
                .contains_key(TIMED_OUT_BY)
            {
                marked += 1;
            }
        }
        assert_eq!(
            marked, by_sweep,
            "round {round}: the sweep's mark is on its runs only"
        );
    }
}
