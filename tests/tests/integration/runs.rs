//! Which run a request finishes: a run that ended or was superseded meanwhile
//! is refused, a request without a run id adopts the open run, and a retry
//! redoes the work.

use serde_json::Value;
use shared::{
    integration::{Cause, IntegrationContext},
    store::{INTEGRATION_ERROR_CAUSE, TIMEOUT_CAUSE},
    IntegrationStatus,
};

use crate::support::{assert_done, invoke_with, request, start, status, Setup};

#[tokio::test]
async fn a_finish_after_timeout_is_refused_and_writes_nothing() {
    let (setup, contact, run) = Setup::with_rule("EchoResult", "late").await;
    let store = setup.store.clone();
    // check-timeout gives up on the run while the work is still going.
    let slow = async |context: &IntegrationContext, payload: &str| -> Result<String, Cause> {
        store
            .timeout(context.contact_id(), context.run_id())
            .await
            .expect("timeout");
        Ok(payload.to_owned())
    };

    let reply = invoke_with(&setup.deps, request(&contact, Some(&run.id), "late"), slow)
        .await
        .expect("a refusal is a success for Lambda");

    assert_eq!(reply["IntegrationStatus"], Value::Null);
    assert_eq!(reply["Refused"], "the run already ended as TIMEOUT");
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Timeout);
    assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
    assert_eq!(
        state.get("EchoResult"),
        None,
        "the late output is not written"
    );

    // A retry after the timeout stops at the `run` transition.
    let reply = setup.answer(&contact, Some(&run.id), "late").await;
    assert_eq!(reply["Refused"], "the run already ended as TIMEOUT");
    assert_eq!(setup.status(&contact).await, IntegrationStatus::Timeout);
}

#[tokio::test]
async fn a_finish_for_a_superseded_run_is_refused_and_the_new_run_is_untouched() {
    let (setup, contact, old) = Setup::with_rule("EchoResult", "old").await;
    let store = setup.store.clone();
    let newer = std::sync::Mutex::new(None);
    // A new integration rule fires while the old run's work is going.
    let superseded = async |context: &IntegrationContext, payload: &str| -> Result<String, Cause> {
        let run = start(&store, context.contact_id()).await;
        *newer.lock().unwrap() = Some(run.id);
        Ok(payload.to_owned())
    };

    let reply = invoke_with(
        &setup.deps,
        request(&contact, Some(&old.id), "old"),
        superseded,
    )
    .await
    .unwrap();

    let newer = newer.lock().unwrap().clone().expect("the work ran");
    assert_eq!(
        reply["Refused"],
        format!("superseded by run {newer} (START)").as_str()
    );
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Start);
    assert_eq!(state.status().unwrap().run_id.as_ref(), Some(&newer));
    assert_eq!(state.get("EchoResult"), None);

    // The old run's request, retried, is refused before any work.
    let reply = setup.answer(&contact, Some(&old.id), "old").await;
    assert!(reply["Refused"]
        .as_str()
        .unwrap()
        .starts_with("superseded by run"));
    assert_eq!(setup.status(&contact).await, IntegrationStatus::Start);
}

#[tokio::test]
async fn a_request_without_run_id_adopts_the_open_run_and_finds_none_once_it_is_done() {
    let (setup, contact, run) = Setup::with_rule("EchoResult", "adopted").await;

    let reply = setup.answer(&contact, None, "adopted").await;

    assert_eq!(reply["RunId"], run.id.as_str());
    let state = setup.state(&contact).await;
    assert_eq!(status(&state), IntegrationStatus::Done);
    assert_eq!(state.status().unwrap().run_id.as_ref(), Some(&run.id));
    assert_eq!(state.get_str("EchoResult"), Some("adopted"));

    // Nothing open any more: a second request writes nothing.
    let reply = setup.answer(&contact, None, "again").await;
    assert_eq!(reply["Refused"], "no open run to adopt");
    assert_eq!(
        setup.state(&contact).await.get_str("EchoResult"),
        Some("adopted")
    );
}

#[tokio::test]
async fn a_run_written_without_a_run_id_by_an_older_start_is_adopted() {
    let (setup, contact, _) = Setup::with_rule("EchoResult", "legacy").await;
    // The original's start replaces the status item with a bare value.
    setup.put_bare_status(&contact, "START").await;

    let reply = setup.answer(&contact, None, "legacy").await;

    assert_eq!(reply["IntegrationStatus"], "DONE");
    assert_eq!(reply["RunId"], Value::Null);
    assert_done(&setup, &contact, "EchoResult", "legacy").await;
}

#[tokio::test]
async fn a_retried_request_for_a_run_already_marked_run_redoes_the_work() {
    let (setup, contact, run) = Setup::with_rule("EchoResult", "again").await;
    // The first attempt marked the run, then failed on DynamoDB.
    setup.store.run(&contact, Some(&run.id)).await.unwrap();

    setup.answer(&contact, Some(&run.id), "again").await;

    assert_done(&setup, &contact, "EchoResult", "again").await;
}
