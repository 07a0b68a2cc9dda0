//! The run transitions that apply: start, run, done, error and timeout, and
//! what each writes.

use kit::TestTable;
use shared::{
    store::{INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START, TIMEOUT_CAUSE},
    IntegrationStatus, ItemChange, Transition,
};

use crate::support::{
    clock_ms, done_with, echo_start, fresh, open_run, running, state_of, status_of, with_open_run,
};

#[tokio::test]
async fn start_opens_a_run_with_its_attributes_and_integration_start() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = kit::new_contact();

    let run = store.start(&contact, echo_start()).await.unwrap();

    let status = store
        .status(&contact)
        .await
        .unwrap()
        .expect("a status item");
    assert_eq!(status.status, IntegrationStatus::Start);
    assert_eq!(status.run_id.as_ref(), Some(&run.id));
    assert_eq!(
        status.function_name.as_deref(),
        Some("dev-rules-integrationEcho")
    );
    // Stored in epoch milliseconds, so compare at that precision.
    assert_eq!(
        status.started_at.unwrap().timestamp_millis(),
        clock_ms(&clock)
    );
    assert_eq!(
        status.deadline.unwrap().timestamp_millis(),
        clock_ms(&clock) + 10_000
    );
    let state = state_of(&store, &contact).await;
    assert_eq!(
        state.get_str(INTEGRATION_START),
        Some(shared::time::format_rules_engine(run.started_at).as_str())
    );
    assert_eq!(state.get_str("IntegrationStatus"), Some("START"));
}

#[tokio::test]
async fn run_then_done_writes_the_output_and_the_end_and_clears_the_cause() {
    let (_, store, contact) = fresh().await;
    store
        .write(
            &contact,
            &[ItemChange::put(INTEGRATION_ERROR_CAUSE, "old cause")],
        )
        .await
        .unwrap();
    let run = open_run(&store, &contact).await;

    assert_eq!(
        store.run(&contact, Some(&run.id)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(status_of(&store, &contact).await, IntegrationStatus::Run);
    let outcome = done_with(&store, &contact, &run, "hello").await;

    assert_eq!(outcome, Transition::Applied);
    let state = state_of(&store, &contact).await;
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Done));
    assert_eq!(state.get_str("EchoResult"), Some("hello"));
    assert!(state.get_str(INTEGRATION_END).is_some());
    assert_eq!(
        state.get(INTEGRATION_ERROR_CAUSE),
        None,
        "the start and the DONE both clear the cause"
    );
    assert!(state.status().unwrap().ended_at.is_some());
}

#[tokio::test]
async fn run_may_be_marked_again_so_a_retried_function_can_redo_its_work() {
    let (store, contact, run) = with_open_run().await;
    // Marked, then marked again by the retry.
    for _ in 0..2 {
        assert_eq!(
            store.run(&contact, Some(&run.id)).await.unwrap(),
            Transition::Applied
        );
    }
}

#[tokio::test]
async fn start_straight_to_done_is_allowed() {
    let (store, contact, run) = with_open_run().await;
    assert_eq!(
        store.done(&contact, Some(&run.id), &[]).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(status_of(&store, &contact).await, IntegrationStatus::Done);
}

#[tokio::test]
async fn timeout_writes_the_rules_engine_cause_and_the_end() {
    let (store, contact, run) = with_open_run().await;

    assert_eq!(
        store.timeout(&contact, Some(&run.id)).await.unwrap(),
        Transition::Applied
    );

    let state = state_of(&store, &contact).await;
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Timeout));
    assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
    assert!(state.get_str(INTEGRATION_END).is_some());
}

#[tokio::test]
async fn error_writes_the_cause_and_removes_the_output() {
    let (_, store, contact) = fresh().await;
    store
        .write(&contact, &[ItemChange::put("EchoResult", "stale")])
        .await
        .unwrap();
    let run = running(&store, &contact).await;

    let outcome = store
        .error(
            &contact,
            Some(&run.id),
            "CRM unreachable",
            &[ItemChange::delete("EchoResult")],
        )
        .await
        .unwrap();

    assert_eq!(outcome, Transition::Applied);
    let state = state_of(&store, &contact).await;
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Error));
    assert_eq!(
        state.get_str(INTEGRATION_ERROR_CAUSE),
        Some("CRM unreachable")
    );
    assert_eq!(state.get("EchoResult"), None);
    assert!(state.get_str(INTEGRATION_END).is_some());
}

#[tokio::test]
async fn start_supersedes_a_finished_run_and_clears_its_end_and_cause() {
    let (store, contact, first) = with_open_run().await;
    store
        .error(&contact, Some(&first.id), "boom", &[])
        .await
        .unwrap();

    let second = open_run(&store, &contact).await;

    assert_ne!(first.id, second.id);
    let state = state_of(&store, &contact).await;
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Start));
    assert_eq!(state.get(INTEGRATION_END), None);
    assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
}

#[tokio::test]
async fn error_with_a_cause_too_long_to_store_still_ends_the_run() {
    let (store, contact, run) = with_open_run().await;
    let cause = "é".repeat(300 * 1024);

    let ended = store
        .error(&contact, Some(&run.id), &cause, &[])
        .await
        .unwrap();

    assert_eq!(ended, Transition::Applied);
    let state = state_of(&store, &contact).await;
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Error));
    let stored = state.get_str(INTEGRATION_ERROR_CAUSE).unwrap();
    assert_eq!(stored.len(), shared::integration::MAX_CAUSE_BYTES);
    assert!(cause.starts_with(stored));
}
