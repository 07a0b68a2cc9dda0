//! Reading one stream record: whose it is, and the status item's old and new
//! images, without touching DynamoDB. What the record means is decided once,
//! in [`crate::decide`].
//!
//! Records are read leniently, one at a time, so a record the SDK types cannot
//! read is "malformed" on its own and never takes its batch down with it.

use aws_lambda_events::event::dynamodb::EventRecord;
use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::{
    keys::INTEGRATION_STATUS,
    table::{CONTACT_ID, WHAT},
    telemetry::{json_values, without_values},
    ContactId, StatusItem,
};

/// A record read: its sequence number, when it was written, whose it is, and what about.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub sequence: String,
    pub created: Option<DateTime<Utc>>,
    pub contact_id: Option<ContactId>,
    pub change: Change,
}

/// What a record shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A record of another table (another stream mapped to the consumer by
    /// mistake, or a replay of the wrong file).
    OtherTable,
    /// Another state key of a contact.
    Unrelated,
    /// The status item was deleted (TTL or otherwise).
    Removed,
    /// The status item written: what it replaced (if anything), and what it is now.
    // Boxed: two whole items beside variants of none.
    Status {
        old: Option<Box<StatusItem>>,
        new: Box<StatusItem>,
    },
}

/// A record that cannot be read; skipped, never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed stream record {sequence}: {reason}")]
pub struct Malformed {
    pub sequence: String,
    pub reason: String,
}

/// Reads one record of a stream event as Lambda delivers it.
pub fn read(raw: &Value) -> Result<Record, Malformed> {
    let change = &raw["dynamodb"];
    let sequence = change["SequenceNumber"]
        .as_str()
        .unwrap_or("(no sequence number)")
        .to_owned();
    let malformed = |reason: String| Malformed {
        sequence: sequence.clone(),
        reason,
    };
    // Lambda writes epoch seconds, with a fraction on AWS, whole minutes on DynamoDB Local.
    let created = change["ApproximateCreationDateTime"]
        .as_f64()
        .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0) as i64));
    let record = |contact_id, change| Record {
        sequence: sequence.clone(),
        created,
        contact_id,
        change,
    };
    // A record whose keys are not the table's two strings is another table's.
    let is_string = |key: &str| change["Keys"][key]["S"].is_string();
    let keys = change["Keys"].as_object().map_or(0, |keys| keys.len());
    if !(keys == 2 && is_string(CONTACT_ID) && is_string(WHAT)) {
        return Ok(record(None, Change::OtherTable));
    }
    // The cheap test first: most records of the table are other state keys.
    if change["Keys"][WHAT]["S"].as_str() != Some(INTEGRATION_STATUS) {
        return Ok(record(None, Change::Unrelated));
    }
    // serde's messages quote the value they could not read: cut the record's
    // values out of them, as any of them may be personal data.
    let reason = |err: &dyn std::fmt::Display| {
        let values = json_values(raw);
        without_values(&err.to_string(), values.iter().map(String::as_str))
    };
    let event: EventRecord =
        serde_json::from_value(raw.clone()).map_err(|err| malformed(reason(&err)))?;
    let contact_id = match event.change.keys.get(CONTACT_ID) {
        Some(serde_dynamo::AttributeValue::S(id)) => ContactId::parse(id.as_str())
            .map_err(|err| malformed(format!("its ContactId is invalid: {err}")))?,
        _ => return Err(malformed("its Keys have no string ContactId".into())),
    };
    let image = |item: serde_dynamo::Item, which: &str| {
        if item.is_empty() {
            return Ok(None);
        }
        StatusItem::read(item, &reason)
            .map(|item| Some(Box::new(item)))
            .map_err(|err| malformed(format!("its {which} image: {err}")))
    };
    let change = match image(event.change.new_image, "new")? {
        None => Change::Removed,
        Some(new) => Change::Status {
            old: image(event.change.old_image, "old")?,
            new,
        },
    };
    Ok(record(Some(contact_id), change))
}
