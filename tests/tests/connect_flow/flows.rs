//! The shipped flows, played against the real handlers on DynamoDB Local:
//! the rule's message, a failed call recorded as `ERROR` before the flow hands
//! back, re-entry for several integrations in one call (and what Loop counts
//! kept across re-entry do to a loop backstop), and the asynchronous flows'
//! invocation, waits and result.

use std::time::Duration;

use check_timeout::failure::UNOPENED;
use kit::{new_contact, TestTable};
use local_stack::connect::flow::{Ending, Flow, Memory};
use serde_json::json;
use shared::{ContactState, IntegrationStatus};

use crate::player::{Handlers, InProcess, ASYNC, ECHO, LOOP_BACKSTOP, NATIVE, POLLING};

const NEXT: &str = "{{NextFlowArn}}";

async fn handlers(budget: Duration) -> Handlers {
    Handlers::new(TestTable::new().await.store(), budget).await
}

fn status(state: &ContactState) -> Option<IntegrationStatus> {
    state.integration_status()
}

#[tokio::test]
async fn a_slow_run_on_the_polling_flow_hears_the_rules_message_then_ends_done() {
    let h = handlers(Duration::from_secs(2)).await;
    let contact = new_contact();
    let ssml = "<speak>One moment</speak>";
    let message = [
        ("CurrentRule_functionMessageType", "ssml"),
        ("CurrentRule_functionMessage", ssml),
    ];
    h.fire(&contact, json!({"SleepTime": 3}), 15, &message)
        .await;
    let mut calls = InProcess::new(&h, &contact);
    let mut memory = Memory::default();

    let ending = calls
        .play(&Flow::parse(POLLING).unwrap(), &mut memory)
        .await;

    assert_eq!(ending, Ending::Transfer(NEXT.into()));
    assert_eq!(
        calls.log[..2],
        ["start".to_owned(), format!("♪ ssml {ssml}")]
    );
    assert!(calls.count("check") >= 1, "{:?}", calls.log);
    assert_eq!(
        status(&h.state(&contact).await),
        Some(IntegrationStatus::Done)
    );
    assert_eq!(memory.attributes["IntegrationStatus"], "DONE");
}

#[tokio::test]
async fn a_refused_start_leaves_error_in_the_state_not_the_previous_rules_done() {
    let h = handlers(Duration::from_secs(2)).await;
    let flow = Flow::parse(POLLING).unwrap();
    let contact = new_contact();
    let mut memory = Memory::default();
    // GIVEN an earlier integration of the call that ended DONE, with its output
    h.fire(&contact, json!({"Account": "A-1"}), 8, &[]).await;
    InProcess::new(&h, &contact).play(&flow, &mut memory).await;
    let earlier = h.state(&contact).await;
    assert_eq!(status(&earlier), Some(IntegrationStatus::Done));
    assert!(earlier.get("EchoResult").is_some());

    // WHEN the next integration rule fires and Lambda refuses start
    h.fire(&contact, json!({"Account": "A-2"}), 8, &[]).await;
    let mut calls = InProcess::new(&h, &contact);
    calls.refused.insert("start");
    let ending = calls.play(&flow, &mut memory).await;

    // THEN check-timeout recorded ERROR, as a run of its own, before the flow went on
    assert_eq!(ending, Ending::Transfer(NEXT.into()));
    assert_eq!(calls.log, ["start", "record start"]);
    let state = h.state(&contact).await;
    let record = state.status().unwrap();
    assert_eq!(record.status, IntegrationStatus::Error);
    assert_ne!(record.run_id, earlier.status().unwrap().run_id);
    assert_eq!(record.function_name.as_deref(), Some(UNOPENED));
    let cause = state.get_str("IntegrationErrorCause").unwrap();
    assert!(cause.contains("integration-start"), "{cause}");
    assert!(state.get("EchoResult").is_none(), "no output without DONE");
    assert_eq!(memory.attributes["IntegrationStatus"], "ERROR");
}

#[tokio::test]
async fn when_check_timeout_cannot_be_reached_at_all_the_flow_goes_to_the_error_flow() {
    let h = handlers(Duration::from_millis(300)).await;
    let contact = new_contact();
    h.fire(&contact, json!({"SleepTime": 2}), 15, &[]).await;
    let mut calls = InProcess::new(&h, &contact);
    calls.refused.insert("check");
    let mut memory = Memory::default();

    let ending = calls
        .play(&Flow::parse(POLLING).unwrap(), &mut memory)
        .await;

    // The poll failed, and so did its record: the installation's error flow takes over.
    assert_eq!(ending, Ending::Transfer("{{ErrorFlowArn}}".into()));
    assert_eq!(
        calls.log[calls.log.len() - 2..],
        ["check", "record check-timeout"]
    );
    assert_eq!(memory.attributes["IntegrationStatus"], "ERROR");
}

#[tokio::test]
async fn check_timeouts_record_ends_an_open_run_error_and_leaves_a_finished_one_as_it_is() {
    let h = handlers(Duration::from_millis(300)).await;
    // An open run: ERROR, the same run.
    let contact = new_contact();
    h.fire(&contact, json!({"SleepTime": 4}), 15, &[]).await;
    assert_eq!(h.start(&contact).await["IntegrationStatus"], "RUN");
    let opened = h.state(&contact).await.status().unwrap().run_id.clone();
    let answer = h.check(&contact, Some("check-timeout")).await;
    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert_eq!(h.state(&contact).await.status().unwrap().run_id, opened);

    // A finished run: a failed poll leaves it; a failed opening call does not.
    let contact = new_contact();
    h.fire(&contact, json!({"Account": "A-1"}), 8, &[]).await;
    assert_eq!(h.start(&contact).await["IntegrationStatus"], "DONE");
    let answer = h.check(&contact, Some("gave-up")).await;
    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    let answer = h.check(&contact, Some("start")).await;
    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert!(answer.get("EchoResult").is_none(), "{answer}");

    // A name the flow should not use writes nothing.
    let before = h.state(&contact).await.status().cloned();
    let answer = h.check(&contact, Some("everything")).await;
    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert_eq!(h.state(&contact).await.status().cloned(), before);
}

/// Six integrations in one call (Main → Integration → Main → …), each run
/// 3 s long: for each pass, the status the flow handed on and the state's as
/// the pass ended.
async fn six_integrations(text: &str) -> Vec<(String, Option<IntegrationStatus>)> {
    let h = handlers(Duration::from_millis(500)).await;
    let flow = Flow::parse(text).unwrap();
    let contact = new_contact();
    let mut memory = Memory::default();
    let mut passes = Vec::new();
    for _ in 0..6 {
        h.fire(&contact, json!({"SleepTime": 3}), 15, &[]).await;
        InProcess::new(&h, &contact).play(&flow, &mut memory).await;
        let told = memory.attributes["IntegrationStatus"]
            .as_str()
            .unwrap()
            .to_owned();
        passes.push((told, status(&h.state(&contact).await)));
    }
    passes
}

#[tokio::test]
async fn six_integrations_in_one_call_each_end_as_the_flow_tells_the_next_rule() {
    let done = ("DONE".to_owned(), Some(IntegrationStatus::Done));
    assert_eq!(six_integrations(POLLING).await, vec![done; 6]);
}

#[tokio::test]
async fn a_loop_backstop_re_entered_with_its_counts_part_used_misleads_the_next_rule() {
    // Each integration leaves the outer loop's count part-used; a later one
    // finds it spent, gives up at once and tells the next rule TIMEOUT while
    // the state says otherwise (the run still open, or finished after all).
    let passes = six_integrations(LOOP_BACKSTOP).await;
    let misled = passes.iter().any(|(told, state)| {
        told == "TIMEOUT" && state.map(IntegrationStatus::as_str) != Some("TIMEOUT")
    });
    assert!(misled, "{passes:?}");
}

#[tokio::test]
async fn the_asynchronous_flows_play_messages_while_they_wait_and_load_the_answer_when_it_exists() {
    for (text, invoked) in [(NATIVE, "async integration"), (ASYNC, "async start")] {
        let h = handlers(Duration::from_secs(2)).await;
        let contact = new_contact();
        let message = [
            ("CurrentRule_functionMessageType", "text"),
            ("CurrentRule_functionMessage", "Please hold"),
        ];
        h.fire(&contact, json!({"SleepTime": 3}), 15, &message)
            .await;
        let mut calls = InProcess::new(&h, &contact);
        let mut memory = h.entered(&contact).await;

        let began = std::time::Instant::now();
        let ending = calls.play(&Flow::parse(text).unwrap(), &mut memory).await;

        assert_eq!(ending, Ending::Transfer(NEXT.into()));
        // The first Wait (2 s) before any message, then the keep-running
        // Wait's Continue branch: the rule's message, comfort messages (each
        // a moment here), until the answer exists.
        assert_eq!(calls.log[..3], [invoked, "wait", "♪ ssml Please hold"]);
        assert_eq!(calls.log.last().unwrap(), "load");
        let took = began.elapsed();
        assert!(took < Duration::from_secs(5), "{text}: {took:?}");
        let state = h.state(&contact).await;
        let record = state.status().unwrap();
        assert_eq!(record.status, IntegrationStatus::Done);
        assert_eq!(record.function_name.as_deref(), Some(ECHO));
        assert_eq!(memory.external["IntegrationStatus"], "DONE");
        assert_eq!(state.get("EchoResult"), Some(&json!({"SleepTime": 3})));
    }
}

#[tokio::test]
async fn a_native_run_past_its_deadline_is_timed_out_by_the_function_itself() {
    let h = handlers(Duration::from_secs(2)).await;
    let contact = new_contact();
    h.fire(&contact, json!({"SleepTime": 6}), 2, &[]).await;
    let began = std::time::Instant::now();

    let mut memory = h.entered(&contact).await;
    InProcess::new(&h, &contact)
        .play(&Flow::parse(NATIVE).unwrap(), &mut memory)
        .await;

    assert!(
        began.elapsed() < Duration::from_secs(6),
        "{:?}",
        began.elapsed()
    );
    let state = h.state(&contact).await;
    assert_eq!(status(&state), Some(IntegrationStatus::Timeout));
    assert_eq!(
        state.get_str("IntegrationErrorCause"),
        Some("The request timed out")
    );
}

#[tokio::test]
async fn a_refused_native_invocation_is_recorded_error() {
    let h = handlers(Duration::from_secs(2)).await;
    let contact = new_contact();
    h.fire(&contact, json!({"Account": "A-1"}), 8, &[]).await;
    let mut calls = InProcess::new(&h, &contact);
    calls.refused.insert("integration");
    let mut memory = h.entered(&contact).await;

    calls.play(&Flow::parse(NATIVE).unwrap(), &mut memory).await;

    assert_eq!(calls.log.last().unwrap(), "record integration");
    let record = h.state(&contact).await.status().cloned().unwrap();
    assert_eq!(record.status, IntegrationStatus::Error);
    assert_eq!(record.function_name.as_deref(), Some(UNOPENED));
    assert_eq!(memory.attributes["IntegrationStatus"], "ERROR");
}
