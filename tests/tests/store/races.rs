//! Transitions and reads racing on one run: a poller never sees `DONE`
//! without its output, and of a `DONE` and a timeout exactly one wins.

use std::time::Duration;

use kit::{new_contact, TestTable};
use shared::{
    store::{INTEGRATION_END, INTEGRATION_ERROR_CAUSE, TIMEOUT_CAUSE},
    IntegrationStatus, ItemChange, Transition,
};

use crate::support::{finished_as, open_run, state_of, status_of};

#[tokio::test]
async fn a_poller_reading_during_done_never_sees_done_without_its_output() {
    let store = TestTable::new().await.store();
    let mut saw_open_first = 0;
    for i in 0..150 {
        let contact = new_contact();
        let run = open_run(&store, &contact).await;
        let writer = {
            let (store, contact) = (store.clone(), contact.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(200 * (i % 10))).await;
                let output = [
                    ItemChange::put("EchoResult", format!("result {i}")),
                    ItemChange::put("Other", "x"),
                ];
                store.done(&contact, Some(&run.id), &output).await.unwrap()
            })
        };
        // The poller's protocol: the status item first; the whole state once it is final.
        let mut polls = 0;
        loop {
            polls += 1;
            let status = status_of(&store, &contact).await;
            if status == IntegrationStatus::Done {
                let state = state_of(&store, &contact).await;
                assert_eq!(
                    state.get_str("EchoResult"),
                    Some(format!("result {i}").as_str()),
                    "iteration {i}"
                );
                assert_eq!(state.get_str("Other"), Some("x"), "iteration {i}");
                assert!(state.get_str(INTEGRATION_END).is_some(), "iteration {i}");
                break;
            }
            assert_eq!(status, IntegrationStatus::Start, "iteration {i}");
        }
        if polls > 1 {
            saw_open_first += 1;
        }
        assert_eq!(writer.await.unwrap(), Transition::Applied);
    }
    // Otherwise the reads never overlapped the writes and the test proved nothing.
    assert!(
        saw_open_first > 10,
        "only {saw_open_first} of 150 polls overlapped a DONE write"
    );
}

#[tokio::test]
async fn done_racing_timeout_on_one_run_has_exactly_one_winner() {
    let store = TestTable::new().await.store();
    let (mut done_won, mut timeout_won) = (0, 0);
    for i in 0..60 {
        let contact = new_contact();
        let run = open_run(&store, &contact).await;
        let done = {
            let (store, contact, run) = (store.clone(), contact.clone(), run.id.clone());
            tokio::spawn(async move {
                store
                    .done(&contact, Some(&run), &[ItemChange::put("EchoResult", "r")])
                    .await
            })
        };
        let timeout = {
            let (store, contact, run) = (store.clone(), contact.clone(), run.id.clone());
            tokio::spawn(async move { store.timeout(&contact, Some(&run)).await })
        };
        let (done, timeout) = (
            done.await.unwrap().unwrap(),
            timeout.await.unwrap().unwrap(),
        );

        let state = state_of(&store, &contact).await;
        match (done, timeout) {
            (Transition::Applied, Transition::Refused(refusal)) => {
                done_won += 1;
                assert_eq!(refusal, finished_as(IntegrationStatus::Done), "race {i}");
                assert_eq!(state.integration_status(), Some(IntegrationStatus::Done));
                assert_eq!(state.get_str("EchoResult"), Some("r"));
                assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
            }
            (Transition::Refused(refusal), Transition::Applied) => {
                timeout_won += 1;
                assert_eq!(refusal, finished_as(IntegrationStatus::Timeout), "race {i}");
                assert_eq!(state.integration_status(), Some(IntegrationStatus::Timeout));
                assert_eq!(state.get("EchoResult"), None, "no output without DONE");
                assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
            }
            other => panic!("race {i}: expected exactly one winner, got {other:?}"),
        }
    }
    eprintln!("done won {done_won}, timeout won {timeout_won} of 60 races");
}
