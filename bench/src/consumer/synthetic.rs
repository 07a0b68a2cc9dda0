//! Stream records made up for tests and the benchmark, in the shape Lambda
//! delivers them: completions of runs really in a table, and records of other
//! state keys.

use serde_json::{json, Value};
use shared::{store::INTEGRATION_STATUS, Run};

/// The function name synthetic runs carry.
pub const FUNCTION: &str = "bench-rules-integrationEcho";

/// The status item of `run` in `status`, as a stream image.
pub fn status_image(run: &Run, status: &str) -> Value {
    let started = run.started_at.timestamp_millis();
    json!({
        "ContactId": {"S": run.contact_id.as_str()},
        "What": {"S": INTEGRATION_STATUS},
        "Value": {"S": status},
        "RunId": {"S": run.id.as_str()},
        "FunctionName": {"S": run.function_name},
        "StartedAt": {"N": started.to_string()},
        "Deadline": {"N": run.deadline.timestamp_millis().to_string()},
        "EndedAt": {"N": (started + 150).to_string()},
    })
}

/// `run` going from START to DONE.
pub fn completion_record(run: &Run, sequence: u64) -> Value {
    let keys =
        json!({"ContactId": {"S": run.contact_id.as_str()}, "What": {"S": INTEGRATION_STATUS}});
    record(
        "MODIFY",
        keys,
        Some(status_image(run, "DONE")),
        Some(status_image(run, "START")),
        sequence,
    )
}

/// An INSERT of another state key of a made-up contact.
pub fn unrelated_record(i: u64) -> Value {
    let contact = format!("bench-unrelated-{i}");
    let keys = json!({"ContactId": {"S": contact}, "What": {"S": "CurrentRule_functionName"}});
    let mut image = keys.clone();
    image["Value"] = json!({"S": FUNCTION});
    record("INSERT", keys, Some(image), None, 1_000_000 + i)
}

/// A whole record around its keys and images.
pub fn record(
    name: &str,
    keys: Value,
    new: Option<Value>,
    old: Option<Value>,
    sequence: u64,
) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": chrono::Utc::now().timestamp(),
        "Keys": keys,
        "SequenceNumber": format!("{:021}", sequence),
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    json!({
        "eventID": format!("{sequence:032x}"),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/2026-01-01T00:00:00.000",
    })
}
