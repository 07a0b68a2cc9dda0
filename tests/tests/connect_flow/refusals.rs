//! What integration-start refuses to invoke: a function outside the allow-list,
//! a reference too large to be one, or none at all; each is answered and
//! recorded as `ERROR`, with nothing invoked.

use serde_json::json;

use crate::support::{idle, Fired, ECHO};

#[tokio::test]
async fn start_refuses_a_function_outside_the_allow_list_and_records_error() {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:dev-billing-deleteEverything";
    let fired = Fired::new(&[("CurrentRule_functionArn", json!(arn))], idle).await;

    let answer = fired.start().await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    assert!(answer["IntegrationErrorCause"]
        .as_str()
        .unwrap()
        .contains("not on the allow-list"));
    assert!(fired.lambda.invocations().is_empty(), "nothing was invoked");
    let status = fired.status().await;
    assert_eq!(status.status.as_str(), "ERROR");
    assert_eq!(status.function_name.as_deref(), Some("(not allowed)"));
}

#[tokio::test]
async fn start_refuses_a_reference_with_a_400_kb_qualifier_and_records_the_error_whole() {
    // As large as a state item holds: a refusal that echoed it could not be
    // written, and the run start had opened would be left open.
    let reference = format!("{ECHO}:{}", "q".repeat(400 * 1024 - 200));
    let fired = Fired::new(&[("CurrentRule_functionArn", json!(reference))], idle).await;

    let answer = fired.start().await;

    assert_eq!(answer["IntegrationStatus"], "ERROR", "{answer}");
    let cause = answer["IntegrationErrorCause"].as_str().unwrap();
    assert!(cause.starts_with("Integration function refused"), "{cause}");
    assert!(cause.len() < 1024, "{} bytes", cause.len());
    assert!(fired.lambda.invocations().is_empty(), "nothing was invoked");
    let status = fired.status().await;
    assert_eq!(status.status.as_str(), "ERROR", "no run left open");
    assert!(status.ended_at.is_some());
    assert_eq!(status.function_name.as_deref(), Some("(not allowed)"));
}

#[tokio::test]
async fn start_without_a_function_arn_answers_and_records_error() {
    let fired = Fired::new(&[], idle).await;

    let answer = fired.start().await;

    assert_eq!(answer["IntegrationStatus"], "ERROR");
    assert!(answer["IntegrationErrorCause"]
        .as_str()
        .unwrap()
        .contains("CurrentRule_functionArn"));
    assert!(fired.lambda.invocations().is_empty());
    assert_eq!(fired.status().await.status.as_str(), "ERROR");
}
