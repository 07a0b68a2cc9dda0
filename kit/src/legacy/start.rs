//! The original's start (ConnectIntegrationStart.js), its writes and its
//! invocation only: it marks `START` without a run of any kind, then invokes
//! the integration function asynchronously. (Its wait, a Query of the whole
//! contact every 100 ms for up to 2 s, is left to the caller.)

use aws_sdk_dynamodb::Client;
use aws_sdk_lambda::{primitives::Blob, types::InvocationType};
use serde_json::{json, Value};
use shared::{
    keys::{INTEGRATION_END, INTEGRATION_START, INTEGRATION_STATUS},
    time::format_rules_engine,
    ContactId, IntegrationStatus,
};

use super::write_state;

/// What stopped the original's start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Its `START` batch failed; nothing was invoked.
    #[error("writing START failed")]
    State(#[source] aws_sdk_dynamodb::Error),
    /// `START` is written, the invocation failed.
    #[error("invoking the integration function failed")]
    Invoke(#[source] aws_sdk_lambda::Error),
}

/// Starts an integration run as the original does: one batch writing
/// `IntegrationStatus` `START` and `IntegrationStart` (now, in the Rules
/// Engine's format) and deleting `IntegrationEnd` (not `IntegrationErrorCause`,
/// which the original leaves as it was); then invokes `function_name` with
/// `InvocationType` `Event` and `{ContactId, Payload, OriginalRequest}`. No
/// `RunId`, no run attributes. `original_request` is sent as JSON text (a
/// string is taken to be that text already).
pub async fn start(
    client: &Client,
    table: &str,
    lambda: &aws_sdk_lambda::Client,
    contact: &ContactId,
    function_name: &str,
    payload: &str,
    original_request: Value,
) -> Result<(), StartError> {
    let now = format_rules_engine(chrono::Utc::now());
    let changes = [
        (
            INTEGRATION_STATUS,
            Some(IntegrationStatus::Start.to_string()),
        ),
        (INTEGRATION_END, None),
        (INTEGRATION_START, Some(now)),
    ];
    write_state(client, table, contact, &changes)
        .await
        .map_err(StartError::State)?;
    let request = integration_request(contact, payload, original_request);
    lambda
        .invoke()
        .function_name(function_name)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(request.to_string()))
        .send()
        .await
        .map_err(|err| StartError::Invoke(err.into()))?;
    Ok(())
}

/// The original's integration request: `{ContactId, Payload, OriginalRequest}`.
pub(super) fn integration_request(
    contact: &ContactId,
    payload: &str,
    original_request: Value,
) -> Value {
    let original_request = match original_request {
        Value::String(text) => text,
        other => other.to_string(),
    };
    json!({
        "ContactId": contact.as_str(),
        "Payload": payload,
        "OriginalRequest": original_request,
    })
}
