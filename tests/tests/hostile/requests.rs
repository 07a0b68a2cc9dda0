//! What an integration function is invoked with: integration requests from
//! start, Connect events (native async mode) and keep-warm pings.

use serde_json::{json, Value};
use shared::{
    integration::{IntegrationError, Invocation, RequestError},
    telemetry::error_chain,
    ContactId, RunId,
};

use crate::inputs::leaks;
use crate::mutate::{fixture, mutated};
use proptest::prelude::*;

fn seeds() -> Vec<Value> {
    let event = fixture("connect", "contact-flow-event.json");
    vec![
        json!({
            "ContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
            "RunId": "0d3c7a0e-1111-4c1e-9a00-000000000001",
            "Payload": r#"{"SleepTime": 1, "Account": "A-1"}"#,
            "OriginalRequest": event.to_string(),
        }),
        // As the original Rules Engine sent it: no run id, the payload parsed.
        json!({
            "ContactId": "5ca32fbd-8f92-46af-92a5-6b0f970f0efe",
            "Payload": {"SleepTime": 1},
            "OriginalRequest": event.clone(),
        }),
        event,
        // Lambda's sample Connect event, named `ContactFlowExecution`.
        fixture("connect", "contact-flow-execution.json"),
        fixture("connect", "keep-warm.json"),
    ]
}

/// Whether `request` has Connect's shape (a `Details` member), whatever its
/// `Name`: then it is read as start reads it, never as an integration request.
fn connect_shaped(request: &Value) -> bool {
    request.get("Details").is_some()
}

/// Whether some error of `err`'s chain says its source in its message and
/// keeps it as its source too, so that the chain says it twice.
fn says_a_cause_twice(err: &dyn std::error::Error) -> bool {
    let mut layer = Some(err);
    while let Some(err) = layer {
        if let Some(source) = err.source() {
            if err.to_string().contains(&source.to_string()) {
                return true;
            }
        }
        layer = err.source();
    }
    false
}

/// Whether `request` is an integration request with everything right, which
/// must then be read.
fn well_formed(request: &Value) -> bool {
    let text = |field: &str| request.get(field).and_then(Value::as_str);
    let present = |field: &str| request.get(field).is_some_and(|v| !v.is_null());
    request.get("keepWarm").is_none()
        && !connect_shaped(request)
        && text("ContactId").is_some_and(|id| ContactId::parse(id).is_ok())
        && present("Payload")
        && present("OriginalRequest")
        && match request.get("RunId") {
            None | Some(Value::Null) => true,
            Some(Value::String(id)) => RunId::parse(id.as_str()).is_ok(),
            Some(_) => false,
        }
}

#[test]
fn integration_requests_are_read_or_refused_by_name_never_panicking() {
    crate::run("integration requests", mutated(seeds()), |request| {
        match Invocation::from_value(request.clone()) {
            Ok(Invocation::KeepWarm(_)) => prop_assert!(request.get("keepWarm").is_some()),
            Ok(Invocation::Native(event)) => {
                prop_assert!(connect_shaped(&request));
                prop_assert_eq!(&event.raw, &request);
            }
            Ok(Invocation::Request(read)) => {
                prop_assert_eq!(
                    Some(read.contact_id.as_str()),
                    request["ContactId"].as_str()
                );
                prop_assert_eq!(
                    read.run_id.as_ref().map(RunId::as_str),
                    request["RunId"].as_str()
                );
                // The work always gets text: the payload as sent, or its JSON text.
                let payload = match &request["Payload"] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                prop_assert_eq!(&read.payload, &payload);
                // JSON text is read as JSON; other text, or a value, as it came.
                let original = match &request["OriginalRequest"] {
                    Value::String(text) => {
                        serde_json::from_str(text).unwrap_or_else(|_| json!(text))
                    }
                    other => other.clone(),
                };
                prop_assert_eq!(&read.original_request, &original);
            }
            Err(err) => {
                prop_assert!(!well_formed(&request), "refused a good request: {err}");
                // An event with Connect's shape that cannot be read is answered
                // (ERROR), never a Lambda error.
                prop_assert_eq!(
                    matches!(err, RequestError::Event(_)),
                    connect_shaped(&request),
                    "{}",
                    err
                );
                // What Lambda records for a refused request is the whole chain,
                // each cause said once; a Connect event's error is answered, with
                // its message only.
                let text = match err {
                    RequestError::Event(err) => err.to_string(),
                    err => {
                        let err = IntegrationError::BadRequest(err);
                        let text = error_chain(&err);
                        prop_assert!(!says_a_cause_twice(&err), "said twice: {}", text);
                        text
                    }
                };
                prop_assert!(!text.is_empty());
                prop_assert!(!leaks(&text), "the error echoes personal data: {text}");
            }
        }
        Ok(())
    });
}
