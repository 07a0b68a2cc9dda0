//! check-timeout: it waits on an open run, times it out at its deadline (its
//! own or the one a legacy start implies), and never overwrites a finish that
//! landed first.

use std::{sync::Arc, time::Duration};

use kit::{new_contact, TestTable};
use serde_json::json;
use shared::{connect::MAX_ANSWER_BYTES, Clock, SystemClock};

use crate::support::{
    check, check_deps, echo_rule, event_for, finish, open_run, opened, put_bare_status, seed_rule,
    stored_status,
};

#[tokio::test]
async fn a_two_second_wait_reads_the_status_item_at_most_25_times() {
    let table = TestTable::new().await;
    let (store, counter) = table.counted_store(Arc::new(SystemClock));
    let contact = new_contact();
    open_run(&store, &contact, Duration::from_secs(20)).await;

    let answer = check(&store, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "START");
    let reads = counter.count("GetItem");
    println!("status reads in one 2 s check-timeout wait: {reads}");
    assert!((5..=25).contains(&reads), "{reads} status reads");
}

#[tokio::test]
async fn check_timeout_times_out_an_open_run_past_its_deadline() {
    let (store, clock, contact, _) = opened(Duration::from_secs(5)).await;
    clock.advance(Duration::from_secs(6));

    let answer = check(&store, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "TIMEOUT", "{answer}");
    assert_eq!(answer["IntegrationErrorCause"], "The request timed out");
    let status = stored_status(&store, &contact).await;
    assert_eq!(status.status.as_str(), "TIMEOUT");
}

#[tokio::test]
async fn check_timeout_times_the_run_out_when_the_deadline_falls_inside_its_wait() {
    let (store, clock, contact, _) = opened(Duration::from_millis(1_200)).await;
    let began = clock.now();
    let deadline = stored_status(&store, &contact).await.deadline.unwrap();

    let answer = check(&store, &contact).await;

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
    let (store, clock, contact, run) = opened(Duration::from_secs(5)).await;
    clock.advance(Duration::from_millis(4_999));
    finish(&store, &contact, &run.id, "just in time").await;
    clock.advance(Duration::from_secs(3));

    let answer = check(&store, &contact).await;

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
        let run = open_run(&store, &contact, Duration::from_secs(5)).await;
        clock.advance(Duration::from_secs(5));
        let deps = check_deps(store.clone());
        let (answer, _) = tokio::join!(
            check_timeout::handle(event_for(&contact), &deps),
            finish(&store, &contact, &run.id, "raced")
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
    let store = TestTable::new().await.store();
    let contact = new_contact();
    let run = open_run(&store, &contact, Duration::from_secs(10)).await;
    let (finisher, contact2) = (store.clone(), contact.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        finish(&finisher, &contact2, &run.id, "late").await;
    });

    let began = std::time::Instant::now();
    let answer = check(&store, &contact).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert!(
        began.elapsed() < Duration::from_millis(1_000),
        "took {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn check_timeout_reckons_an_legacy_writers_deadline_from_integration_start() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = new_contact();
    // a legacy start: a bare status item, IntegrationStart and the rule's timeout.
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
    put_bare_status(&table, &contact, "RUN").await;

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
async fn answers_are_cut_at_32_kb_keeping_the_integration_keys() {
    let store = TestTable::new().await.store();
    let contact = new_contact();
    let big = "x".repeat(9_000);
    let mut rule = echo_rule("8");
    for key in ["Notes1", "Notes2", "Notes3", "Notes4"] {
        rule.push((key, json!(big)));
    }
    seed_rule(&store, &contact, &rule).await;
    let run = open_run(&store, &contact, Duration::from_secs(8)).await;
    finish(&store, &contact, &run.id, "hello").await;

    let answer = check(&store, &contact).await;

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
