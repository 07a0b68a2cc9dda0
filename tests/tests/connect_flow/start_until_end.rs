//! integration-start called asynchronously by the asynchronous-start flow
//! (`Wait: UntilEnd`): it waits past its 2 s budget until the run ends, or
//! times the run out at its deadline as check-timeout would, on DynamoDB Local.

use std::time::{Duration, Instant};

use kit::lambda::fake::FakeLambda;
use serde_json::{json, Value};
use shared::{IntegrationStatus, RunStart};

use crate::support::{echo_rule, event_for, function_finishing, idle, Fired, OWN_ARN};

/// start's answer to the asynchronous-start flow's block, for the contact.
async fn start_until_end(fired: &Fired) -> Value {
    start_with(fired, json!("UntilEnd")).await
}

/// A contact whose rule's function finishes `DONE` 3 s after its invoke.
async fn done_in_3_s() -> Fired {
    Fired::new(&echo_rule("8"), |store| {
        FakeLambda::accepting(function_finishing(store, Duration::from_secs(3), None))
    })
    .await
}

/// start's answer to a block whose `Wait` parameter is `wait`.
async fn start_with(fired: &Fired, wait: Value) -> Value {
    let mut event = event_for(&fired.contact);
    event["Details"]["Parameters"] = json!({ "Wait": wait });
    integration_start::handle(event, Some(OWN_ARN), &fired.deps).await
}

#[tokio::test]
async fn start_waits_past_its_budget_until_the_run_is_done() {
    let fired = done_in_3_s().await;

    let began = Instant::now();
    let answer = start_until_end(&fired).await;
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
    let answer = start_until_end(&fired).await;
    let took = began.elapsed();

    assert_eq!(answer["IntegrationStatus"], "TIMEOUT", "{answer}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "answered after {took:?}"
    );
    assert_eq!(fired.status().await.status, IntegrationStatus::Timeout);
}

/// start times out its own run only: a newer rule's run, opened on the
/// contact while start waits, is left open at start's deadline.
#[tokio::test]
async fn start_leaves_a_newer_run_open_at_its_own_deadline() {
    let fired = Fired::new(&echo_rule("3"), idle).await;
    let newer = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let start = RunStart {
            function_name: "dev-rules-integrationNext".into(),
            timeout: Duration::from_secs(60),
        };
        fired
            .store
            .start(&fired.contact, start)
            .await
            .expect("the newer run opens")
    };

    let (_, newer) = tokio::join!(start_until_end(&fired), newer);

    let status = fired.status().await;
    assert_eq!(status.run_id.as_ref(), Some(&newer.id));
    assert_eq!(status.status, IntegrationStatus::Start);
}

#[tokio::test]
async fn an_unknown_wait_parameter_is_refused_and_recorded_without_an_invoke() {
    for wait in [json!("until-end"), json!(1)] {
        let fired = Fired::new(&echo_rule("3"), idle).await;

        let answer = start_with(&fired, wait.clone()).await;

        assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
        let cause = answer["IntegrationErrorCause"].as_str().unwrap_or_default();
        assert!(cause.contains("UntilEnd"), "{answer}");
        assert!(fired.lambda.invocations().is_empty(), "{wait}");
        // Recorded, so the next rules do not read the previous rule's status.
        assert_eq!(fired.status().await.status, IntegrationStatus::Error);
    }
}

/// Connect retries an asynchronous invocation that errs, as a synchronous
/// one: the retry of a start that died after its invoke waits until the
/// same run ends, and invokes nothing again.
#[tokio::test]
async fn a_retried_start_waits_until_the_end_of_the_run_it_opened() {
    let fired = done_in_3_s().await;
    // The first start: it opens the run and invokes, then its answer is lost.
    let first = start_with(&fired, json!("UntilEnd"));
    let _ = tokio::time::timeout(Duration::from_millis(500), first).await;
    assert_eq!(fired.lambda.invocations().len(), 1);

    let began = Instant::now();
    let answer = start_until_end(&fired).await;

    assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
    assert!(
        began.elapsed() >= Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(fired.lambda.invocations().len(), 1, "invoked again");
}
