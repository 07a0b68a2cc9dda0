//! integration-start called asynchronously by the asynchronous-start flow
//! (`Wait: UntilEnd`): it waits past its 2 s budget until the run ends, or
//! times the run out at its deadline as check-timeout would, on DynamoDB Local.

use std::time::{Duration, Instant};

use kit::lambda::fake::FakeLambda;
use serde_json::{json, Value};
use shared::{IntegrationStatus, StoreError};

use crate::support::{echo_rule, event_for, function_finishing, idle, Fired, OWN_ARN};

/// start's answer to the asynchronous-start flow's block, for the contact.
async fn start_until_end(fired: &Fired, wait: &str) -> Value {
    let mut event = event_for(&fired.contact);
    event["Details"]["Parameters"] = json!({ "Wait": wait });
    integration_start::handle(event, Some(OWN_ARN), &fired.deps).await
}

#[tokio::test]
async fn start_waits_past_its_budget_until_the_run_is_done() {
    let fired = Fired::new(&echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(
            store,
            Duration::from_millis(3_000),
            None,
        ))
    })
    .await;

    let began = Instant::now();
    let answer = start_until_end(&fired, "UntilEnd").await;
    let took = began.elapsed();

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert_eq!(answer["EchoResult"], "hello");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn start_times_the_run_out_at_its_deadline_as_check_timeout_would() {
    let fired = Fired::new(&echo_rule("3"), idle).await;

    let began = Instant::now();
    let answer = start_until_end(&fired, "UntilEnd").await;
    let took = began.elapsed();

    assert_eq!(answer["IntegrationStatus"], "TIMEOUT", "{answer}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "answered after {took:?}"
    );
    let status = fired.status().await;
    assert_eq!(status.status, IntegrationStatus::Timeout);
    // The transition is the guarded one: a DONE of the same run, landing
    // now, is refused.
    let refused = fired
        .store
        .done(&fired.contact, status.run_id.as_ref(), &[])
        .await;
    assert!(
        matches!(refused, Ok(shared::Transition::Refused(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_unknown_wait_parameter_is_refused_before_anything_is_written() {
    let fired = Fired::new(&echo_rule("3"), idle).await;

    let answer = start_until_end(&fired, "until-end").await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert!(
        answer["IntegrationErrorCause"]
            .as_str()
            .is_some_and(|c| c.contains("UntilEnd")),
        "{answer}"
    );
    assert!(fired.lambda.invocations().is_empty());
    let status: Result<_, StoreError> = fired.store.status(&fired.contact).await;
    assert!(status.unwrap().is_none(), "a run was opened");
}
