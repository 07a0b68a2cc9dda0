//! What an integration function can be invoked with, recognised by shape: an
//! integration request from start, a Connect contact flow event (native async
//! mode), or the Rules Engine's keep-warm ping.
//!
//! The event and the ping are recognised and read as start and check-timeout
//! read them ([`ConnectRequest`]): by Connect's shape, whatever the event's
//! `Name`, so an event with Connect's shape is never taken for a malformed
//! integration request.
//!
//! Errors name the field at fault, never its value: the request carries the
//! Connect event, and with it the caller's phone number. An error that says its
//! cause in its message keeps no source, so a chain of sources says it once.

use serde_json::Value;

use crate::{
    connect::{ConnectRequest, ContactFlowEvent, EventError, KeepWarm},
    ContactId, IdError, RunId,
};

/// Why a request cannot be served. Retrying the same request cannot help.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the request is not a JSON object")]
    NotAnObject,
    #[error(
        "the request is neither an integration request (ContactId, Payload, OriginalRequest), \
         a Connect event (Details.ContactData) nor a keep-warm ping"
    )]
    Unrecognised,
    #[error("the integration request has no {field}")]
    Missing { field: &'static str },
    #[error("the integration request's {field} is not a string")]
    NotAString { field: &'static str },
    #[error("the integration request's {field} is invalid: {reason}")]
    BadId {
        field: &'static str,
        reason: IdError,
    },
    /// A Connect event that cannot be read: answered, not failed (see `handle`).
    #[error(transparent)]
    Event(#[from] EventError),
}

/// An invocation, sorted by what invoked the function.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// The Rules Engine keeping the function warm: answered without touching state.
    KeepWarm(KeepWarm),
    /// Sent by start (or the original Rules Engine) with `InvocationType=Event`.
    Request(IntegrationRequest),
    /// Sent by Connect's own "Invoke AWS Lambda function" block: native async mode.
    /// Any event with Connect's shape, whatever its `Name`.
    Native(ContactFlowEvent),
}

/// `{"ContactId", "RunId", "Payload", "OriginalRequest"}`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationRequest {
    pub contact_id: ContactId,
    /// Absent from callers written for the original: the contact's open run is adopted.
    pub run_id: Option<RunId>,
    /// The rule's payload as text (JSON text when the rule's payload is JSON).
    pub payload: String,
    /// The Connect event the run started from, parsed when it is JSON.
    pub original_request: Value,
}

impl Invocation {
    pub fn from_value(value: Value) -> Result<Self, RequestError> {
        let Some(fields) = value.as_object() else {
            return Err(RequestError::NotAnObject);
        };
        if ConnectRequest::recognises(&value) {
            // Read as start and check-timeout read it; an event that cannot be
            // read is an `Event` error, which is answered for the flow to route on.
            return Ok(match ConnectRequest::from_value(value)? {
                ConnectRequest::KeepWarm(ping) => Self::KeepWarm(ping),
                ConnectRequest::Contact(event) => Self::Native(event),
            });
        }
        if ["ContactId", "Payload", "RunId"]
            .iter()
            .any(|field| fields.contains_key(*field))
        {
            return IntegrationRequest::from_value(&value).map(Self::Request);
        }
        Err(RequestError::Unrecognised)
    }
}

impl IntegrationRequest {
    fn from_value(value: &Value) -> Result<Self, RequestError> {
        let contact_id =
            ContactId::parse(required_string(value, "ContactId")?).map_err(|reason| {
                RequestError::BadId {
                    field: "ContactId",
                    reason,
                }
            })?;
        let run_id = match value.get("RunId") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => {
                Some(
                    RunId::parse(id.as_str()).map_err(|reason| RequestError::BadId {
                        field: "RunId",
                        reason,
                    })?,
                )
            }
            Some(_) => return Err(RequestError::NotAString { field: "RunId" }),
        };
        let original_request = match value.get("OriginalRequest") {
            None | Some(Value::Null) => {
                return Err(RequestError::Missing {
                    field: "OriginalRequest",
                })
            }
            // The contract says JSON text; a caller that sent the object itself is
            // understood too.
            Some(Value::String(text)) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
            Some(other) => other.clone(),
        };
        Ok(Self {
            contact_id,
            run_id,
            payload: payload_text(value)?,
            original_request,
        })
    }
}

fn required_string(value: &Value, field: &'static str) -> Result<String, RequestError> {
    match value.get(field) {
        None | Some(Value::Null) => Err(RequestError::Missing { field }),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(RequestError::NotAString { field }),
    }
}

/// `Payload` is a string by contract. The original Rules Engine passed a JSON
/// payload on as the parsed object, so an object or any other JSON value is taken
/// as its JSON text: the work always receives text.
fn payload_text(value: &Value) -> Result<String, RequestError> {
    match value.get("Payload") {
        None | Some(Value::Null) => Err(RequestError::Missing { field: "Payload" }),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Ok(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(value: Value) -> IntegrationRequest {
        match Invocation::from_value(value).unwrap() {
            Invocation::Request(request) => request,
            other => panic!("expected an integration request, got {other:?}"),
        }
    }

    #[test]
    fn an_integration_request_is_read_with_its_run_and_original_request() {
        let request = request(json!({
            "ContactId": "c-1",
            "RunId": "r-1",
            "Payload": "{\"SleepTime\": 1}",
            "OriginalRequest": "{\"Name\": \"ContactFlowEvent\"}",
        }));
        assert_eq!(request.contact_id.as_str(), "c-1");
        assert_eq!(request.run_id.as_ref().map(RunId::as_str), Some("r-1"));
        assert_eq!(request.payload, "{\"SleepTime\": 1}");
        assert_eq!(
            request.original_request,
            json!({"Name": "ContactFlowEvent"})
        );
    }

    #[test]
    fn a_request_without_run_id_or_with_an_object_payload_is_understood() {
        let request = request(json!({
            "ContactId": "c-1",
            "Payload": {"SleepTime": 1},
            "OriginalRequest": "not json",
        }));
        assert_eq!(request.run_id, None);
        assert_eq!(request.payload, r#"{"SleepTime":1}"#);
        assert_eq!(request.original_request, json!("not json"));
    }

    #[test]
    fn missing_or_malformed_fields_are_named() {
        let err = |value: Value| Invocation::from_value(value).unwrap_err().to_string();
        assert_eq!(
            err(json!({"Payload": "x", "OriginalRequest": "{}"})),
            "the integration request has no ContactId"
        );
        assert_eq!(
            err(json!({"ContactId": 7, "Payload": "x", "OriginalRequest": "{}"})),
            "the integration request's ContactId is not a string"
        );
        assert_eq!(
            err(json!({"ContactId": "c", "OriginalRequest": "{}"})),
            "the integration request has no Payload"
        );
        assert_eq!(
            err(json!({"ContactId": "c", "Payload": "x"})),
            "the integration request has no OriginalRequest"
        );
        assert!(
            err(json!({"ContactId": "a b", "Payload": "x", "OriginalRequest": "{}"}))
                .starts_with("the integration request's ContactId is invalid")
        );
        assert_eq!(
            err(json!("hello")),
            "the request is not a JSON object".to_owned()
        );
        assert!(err(json!({"Other": 1})).starts_with("the request is neither"));
    }

    /// The shape of the Connect event in Lambda's own sample data, named
    /// `ContactFlowExecution` (awslabs/aws-lambda-rust-runtime,
    /// lambda-events/src/fixtures/example-connect-event.json), here trimmed.
    fn contact_flow_execution() -> Value {
        json!({
            "Name": "ContactFlowExecution",
            "Details": {
                "Parameters": {"key1": "value1"},
                "ContactData": {
                    "ContactId": "leg-2",
                    "InitialContactId": "leg-1",
                    "Channel": "Voice",
                    "InstanceARN": "",
                    "SystemEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "01234567"},
                    "Queue": {"Name": "PrimaryPhoneQueue", "ARN": ""},
                    "Attributes": {"key1": "value"}
                }
            }
        })
    }

    #[test]
    fn a_contact_flow_execution_event_is_native_and_read_as_start_reads_it() {
        let event = contact_flow_execution();
        let Ok(ConnectRequest::Contact(read_by_start)) = ConnectRequest::from_value(event.clone())
        else {
            panic!("start reads the event")
        };
        let Ok(Invocation::Native(read)) = Invocation::from_value(event.clone()) else {
            panic!("native mode reads the event")
        };
        assert_eq!(read.contact_id, read_by_start.contact_id);
        assert_eq!(read.contact_id.as_str(), "leg-1");
        assert_eq!(read.parameter("key1"), Some("value1"));
        assert_eq!(read.raw, event);
        // Whatever the name, or none: the shape says it is Connect's.
        for name in [
            json!("ContactFlowEvent"),
            json!("Other"),
            json!(7),
            Value::Null,
        ] {
            let mut named = event.clone();
            named["Name"] = name;
            assert!(matches!(
                Invocation::from_value(named),
                Ok(Invocation::Native(read)) if read.contact_id.as_str() == "leg-1"
            ));
        }
    }

    #[test]
    fn an_event_with_connect_s_shape_it_cannot_use_is_an_event_error_never_a_bad_request() {
        let mut no_ids = contact_flow_execution();
        let data = no_ids["Details"]["ContactData"].as_object_mut().unwrap();
        data.remove("ContactId");
        data.remove("InitialContactId");
        let mut blank_id = contact_flow_execution();
        blank_id["Details"]["ContactData"]["InitialContactId"] = json!("a b");
        blank_id["Details"]["ContactData"]["ContactId"] = Value::Null;
        let unusable = [
            (no_ids, EventError::NoContactId.to_string()),
            (
                json!({"Name": "ContactFlowExecution", "Details": {}}),
                "the event is not shaped as Connect sends it".to_owned(),
            ),
            (
                json!({"Details": {"ContactData": "x"}, "ContactId": "c", "Payload": "x"}),
                "the event is not shaped as Connect sends it".to_owned(),
            ),
            (
                blank_id,
                "the event's contact id is invalid: contact id contains a control character \
                 or white space"
                    .to_owned(),
            ),
        ];
        for (event, message) in unusable {
            match Invocation::from_value(event) {
                Err(RequestError::Event(err)) => assert_eq!(err.to_string(), message),
                other => panic!("expected an event error, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_refusal_reaches_lambda_with_its_chain_said_once() {
        use crate::{integration::IntegrationError, telemetry::error_chain};
        let lambda_message = |value: Value| {
            let err = IntegrationError::from(Invocation::from_value(value).unwrap_err());
            let chain = error_chain(&err);
            let diagnostic = lambda_runtime::Diagnostic::from(err);
            assert_eq!(diagnostic.error_type, "BadRequest");
            assert_eq!(diagnostic.error_message, chain);
            chain
        };
        assert_eq!(
            lambda_message(json!({"Name": "ContactFlowExecution"})),
            "bad request: the request is neither an integration request (ContactId, Payload, \
             OriginalRequest), a Connect event (Details.ContactData) nor a keep-warm ping"
        );
        assert_eq!(
            lambda_message(json!({"ContactId": "a b", "Payload": "x", "OriginalRequest": "{}"})),
            "bad request: the integration request's ContactId is invalid: contact id contains \
             a control character or white space"
        );
        assert_eq!(
            lambda_message(json!({"ContactId": "c", "RunId": "", "Payload": "x"})),
            "bad request: the integration request's RunId is invalid: run id is empty"
        );
    }

    #[test]
    fn connect_events_and_keep_warm_pings_are_told_apart() {
        let event = json!({
            "Name": "ContactFlowEvent",
            "Details": {"ContactData": {"ContactId": "c-2"}, "Parameters": {}},
        });
        assert!(matches!(
            Invocation::from_value(event),
            Ok(Invocation::Native(event)) if event.contact_id.as_str() == "c-2"
        ));
        assert!(matches!(
            Invocation::from_value(json!({"keepWarm": {"name": "f"}})),
            Ok(Invocation::KeepWarm(_))
        ));
    }
}
