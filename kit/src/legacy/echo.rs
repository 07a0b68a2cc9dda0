//! The original's sample integration function, IntegrationEcho.js, which its
//! users copy: it echoes the request's payload into the rule's output key.
//! Its writes are [`write_state`]'s: it marks `RUN`, does the work, then
//! writes its finish over whatever the status item holds, never reading it
//! first, so a finish that comes after the caller was told `TIMEOUT` lands all
//! the same. It ignores `RunId`.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::{types::AttributeValue, Client};
use serde_json::{json, Value};
use shared::{
    keys::{self, INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_STATUS, OUTPUT_KEY},
    table::{VALUE, WHAT},
    telemetry::error_chain,
    time::format_rules_engine,
    ContactId, IntegrationStatus,
};
use tracing::{info, warn};

use super::write_state;

/// The longest `SleepTime` honoured: Lambda stops any function after 15 minutes.
const MAX_SLEEP: Duration = Duration::from_secs(900);

/// Plays IntegrationEcho.js for one request `{ContactId, Payload,
/// OriginalRequest}` (a `RunId` is ignored):
///
/// 1. loads the contact's state (a consistent Query) and requires
///    `CurrentRule_functionOutputKey`;
/// 2. writes `IntegrationStatus` `RUN` (one batch);
/// 3. does the work: sleeps `SleepTime` seconds, then fails with
///    `ForcedError` if the payload has one;
/// 4. writes, in one batch, `DONE` with `IntegrationEnd`, the output (the
///    payload's text) and `IntegrationErrorCause` deleted; or, for any failure
///    after the state was loaded (the forced error, a failed write), `ERROR`
///    with `IntegrationEnd`, the cause and the output deleted.
///
/// `SleepTime` and `ForcedError` are read only from a payload that is JSON
/// text of an object, as the original's `JSON.parse` reads them: a payload
/// sent as an object (the original start's habit) is echoed as its JSON text
/// but asks for nothing. One difference from the original, whose forced
/// failure came before its sleep: this sleeps first, so that a slow failure
/// can be staged.
///
/// Answers `{"IntegrationStatus": "DONE"}`, or `{"IntegrationStatus":
/// "ERROR", "IntegrationErrorCause": cause}`. A request without `ContactId`,
/// `Payload` or `OriginalRequest`, a state that cannot be read or has no
/// output key, or an `ERROR` that cannot be written is `{"Failed": reason}`
/// and writes nothing (the original throws there: its failure write names no
/// output key, which DynamoDB refuses). Values never reach the log.
pub async fn echo(client: &Client, table: &str, request: Value) -> Value {
    let request = match Request::parse(&request) {
        Ok(request) => request,
        Err(reason) => return failed(None, reason),
    };
    let contact = &request.contact;
    let output_key = match load_state(client, table, contact).await {
        Ok(mut state) => match state.remove(OUTPUT_KEY) {
            Some(key) => key,
            None => {
                let reason = format!("Required field is missing: {OUTPUT_KEY}");
                return failed(Some(contact), reason);
            }
        },
        Err(err) => return failed(Some(contact), error_chain(&err)),
    };
    let finish = match work(client, table, contact, &request.work).await {
        Ok(()) => Finish::Done {
            output: request.work.text.as_deref(),
        },
        Err(cause) => Finish::Error { cause },
    };
    let end = format_rules_engine(chrono::Utc::now());
    let changes = finish.changes(&output_key, &end);
    let written = match write_state(client, table, contact, &changes).await {
        Err(err) if matches!(finish, Finish::Done { .. }) => {
            // As the original's catch does: the failed finish becomes an ERROR.
            let cause = error_chain(&err);
            let error = Finish::Error { cause };
            let changes = error.changes(&output_key, &end);
            write_state(client, table, contact, &changes)
                .await
                .map(|()| error)
        }
        other => other.map(|()| finish),
    };
    match written {
        Ok(finish) => {
            info!(contact_id = %contact, status = %finish.status(), "LEGACY_ECHO_END");
            finish.answer()
        }
        Err(err) => failed(Some(contact), error_chain(&err)),
    }
}

/// Marks `RUN`, then sleeps and maybe fails, as the payload asks.
async fn work(
    client: &Client,
    table: &str,
    contact: &ContactId,
    work: &Work,
) -> Result<(), String> {
    let run = [(INTEGRATION_STATUS, Some(IntegrationStatus::Run.to_string()))];
    write_state(client, table, contact, &run)
        .await
        .map_err(|err| error_chain(&err))?;
    info!(contact_id = %contact, status = "RUN", "LEGACY_ECHO_RUN");
    if !work.sleep.is_zero() {
        tokio::time::sleep(work.sleep).await;
    }
    match &work.forced_error {
        Some(cause) => Err(cause.clone()),
        None => Ok(()),
    }
}

/// A request as IntegrationEcho.js reads it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Request {
    pub(super) contact: ContactId,
    pub(super) work: Work,
}

impl Request {
    /// The request's contact and work; why not, for one the original refuses
    /// (a required field absent) or this one cannot address (a contact id that
    /// is not one).
    pub(super) fn parse(request: &Value) -> Result<Self, String> {
        for field in ["ContactId", "OriginalRequest", "Payload"] {
            if request.get(field).is_none() {
                return Err(format!("Required field is missing: {field}"));
            }
        }
        let contact = request["ContactId"]
            .as_str()
            .and_then(|id| ContactId::parse(id).ok())
            .ok_or_else(|| "ContactId is not a contact id".to_owned())?;
        Ok(Self {
            contact,
            work: Work::from_payload(&request["Payload"]),
        })
    }
}

/// What the payload asks of the echo.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Work {
    /// The output to write: the payload's text (`None` for a null payload,
    /// which deletes the output, as the original's `null` does).
    pub(super) text: Option<String>,
    pub(super) sleep: Duration,
    pub(super) forced_error: Option<String>,
}

impl Work {
    pub(super) fn from_payload(payload: &Value) -> Self {
        let text = match payload {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        };
        let fields = match payload {
            Value::String(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(fields)) => fields,
                _ => Default::default(),
            },
            _ => Default::default(),
        };
        // A negative sleep is none, as setTimeout's is.
        let sleep = fields
            .get("SleepTime")
            .and_then(keys::seconds)
            .map(|s| Duration::from_secs_f64(s.clamp(0.0, MAX_SLEEP.as_secs_f64())))
            .unwrap_or_default();
        // Present is enough, `null` too (`new Error(null)` says "null").
        let forced_error = fields.get("ForcedError").map(|cause| match cause {
            Value::String(cause) => cause.clone(),
            other => other.to_string(),
        });
        Self {
            text,
            sleep,
            forced_error,
        }
    }
}

/// How the run ends, as the final batch writes it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Finish<'a> {
    Done { output: Option<&'a str> },
    Error { cause: String },
}

impl Finish<'_> {
    /// The final batch, in the original's order: the status, `IntegrationEnd`,
    /// the cause (deleted on `DONE`) and the output (deleted on `ERROR`).
    pub(super) fn changes<'k>(
        &self,
        output_key: &'k str,
        end: &str,
    ) -> Vec<(&'k str, Option<String>)> {
        let (cause, output) = match self {
            Finish::Done { output } => (None, output.map(str::to_owned)),
            Finish::Error { cause } => (Some(cause.clone()), None),
        };
        vec![
            (INTEGRATION_STATUS, Some(self.status().to_string())),
            (INTEGRATION_END, Some(end.to_owned())),
            (INTEGRATION_ERROR_CAUSE, cause),
            (output_key, output),
        ]
    }

    fn status(&self) -> IntegrationStatus {
        match self {
            Finish::Done { .. } => IntegrationStatus::Done,
            Finish::Error { .. } => IntegrationStatus::Error,
        }
    }

    fn answer(&self) -> Value {
        match self {
            Finish::Done { .. } => json!({ INTEGRATION_STATUS: "DONE" }),
            Finish::Error { cause } => {
                json!({ INTEGRATION_STATUS: "ERROR", INTEGRATION_ERROR_CAUSE: cause })
            }
        }
    }
}

/// The answer for a request that wrote nothing; the reason is logged too (it
/// holds no value of the request or the state).
fn failed(contact: Option<&ContactId>, reason: String) -> Value {
    let contact_id = contact.map(ContactId::as_str);
    warn!(contact_id, reason = %reason, "LEGACY_ECHO_FAILED");
    json!({ "Failed": reason })
}

/// The contact's state, key by key, as text: a consistent Query, every page.
async fn load_state(
    client: &Client,
    table: &str,
    contact: &ContactId,
) -> Result<HashMap<String, String>, aws_sdk_dynamodb::Error> {
    let mut pages = crate::aws::contact_query(client, table, contact.as_str())
        .into_paginator()
        .send();
    let mut state = HashMap::new();
    while let Some(page) = pages.next().await {
        for item in page?.items.unwrap_or_default() {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(text)) => Some(text.clone()),
                _ => None,
            };
            if let (Some(what), Some(value)) = (text(WHAT), text(VALUE)) {
                state.insert(what, value);
            }
        }
    }
    Ok(state)
}
