//! The run transitions that are refused, by outcome and not by error: a run
//! that already ended, a run superseded by a newer one, a contact without a run.

use shared::{
    store::{INTEGRATION_ERROR_CAUSE, TIMEOUT_CAUSE},
    IntegrationStatus, Refusal, RunId, Transition,
};

use crate::support::{
    done_with, finished_as, fresh, open_run, put_raw, refused, running, state_of, status_of,
    with_open_run,
};

#[tokio::test]
async fn a_late_finisher_after_timeout_is_refused_and_writes_nothing() {
    let (_, store, contact) = fresh().await;
    let run = running(&store, &contact).await;
    store.timeout(&contact, Some(&run.id)).await.unwrap();

    let done = done_with(&store, &contact, &run, "late").await;
    let error = store
        .error(&contact, Some(&run.id), "late failure", &[])
        .await
        .unwrap();

    assert_eq!(refused(done), finished_as(IntegrationStatus::Timeout));
    assert_eq!(refused(error), finished_as(IntegrationStatus::Timeout));
    let state = state_of(&store, &contact).await;
    assert_eq!(
        state.get("EchoResult"),
        None,
        "a refused DONE writes no output"
    );
    assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
}

#[tokio::test]
async fn an_old_run_after_a_new_start_is_refused_as_superseded() {
    let (store, contact, old) = with_open_run().await;
    let new = open_run(&store, &contact).await;

    let run = store.run(&contact, Some(&old.id)).await.unwrap();
    let done = done_with(&store, &contact, &old, "old").await;
    let timeout = store.timeout(&contact, Some(&old.id)).await.unwrap();

    let superseded = Refusal::Superseded {
        current: Some(new.id.clone()),
        status: IntegrationStatus::Start,
    };
    assert_eq!(refused(run), superseded);
    assert_eq!(refused(done), superseded);
    assert_eq!(refused(timeout), superseded);
    let state = state_of(&store, &contact).await;
    assert_eq!(state.status().unwrap().run_id.as_ref(), Some(&new.id));
    assert_eq!(state.get("EchoResult"), None);
}

#[tokio::test]
async fn run_and_timeout_after_done_are_refused() {
    let (store, contact, run) = with_open_run().await;
    done_with(&store, &contact, &run, "ok").await;

    let again = store.run(&contact, Some(&run.id)).await.unwrap();
    let timeout = store.timeout(&contact, Some(&run.id)).await.unwrap();

    assert_eq!(refused(again), finished_as(IntegrationStatus::Done));
    assert_eq!(refused(timeout), finished_as(IntegrationStatus::Done));
    let state = state_of(&store, &contact).await;
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Done));
    assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
}

#[tokio::test]
async fn transitions_on_a_contact_without_a_run_are_refused_as_no_run() {
    let (_, store, contact) = fresh().await;
    let outcome = store.timeout(&contact, Some(&RunId::new())).await.unwrap();
    assert_eq!(refused(outcome), Refusal::NoRun);
    assert_eq!(
        store.status(&contact).await.unwrap(),
        None,
        "a refused transition creates nothing"
    );
}

#[tokio::test]
async fn a_run_written_by_an_older_function_without_a_run_id_is_named_by_no_run_id() {
    let (table, store, contact) = fresh().await;
    let run = open_run(&store, &contact).await;
    // An integration function written for the original replaces the item with a bare value.
    put_raw(&table, &contact, "IntegrationStatus", "RUN").await;

    let ours = store.timeout(&contact, Some(&run.id)).await.unwrap();
    assert_eq!(
        refused(ours),
        Refusal::Superseded {
            current: None,
            status: IntegrationStatus::Run
        }
    );
    assert_eq!(
        store.timeout(&contact, None).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        status_of(&store, &contact).await,
        IntegrationStatus::Timeout
    );
}
