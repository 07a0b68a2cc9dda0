//! The state table's stream records, as Lambda delivers them to the consumer.

use proptest::prelude::*;
use serde_json::Value;
use shared::{store::INTEGRATION_STATUS, ContactId};
use stream_consumer::record::{read, Change};

use crate::inputs::leaks;
use crate::mutate::{fixture, mutated};

/// Every record of every stream fixture.
fn seeds() -> Vec<Value> {
    let folder = format!("{}/fixtures/streams", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|err| panic!("{folder}: {err}"))
        .map(|entry| entry.expect("a fixture").file_name().into_string().unwrap())
        .collect();
    names.sort();
    let records: Vec<Value> = names
        .iter()
        .flat_map(|name| {
            fixture("streams", name)["Records"]
                .as_array()
                .expect("a stream event has Records")
                .clone()
        })
        .collect();
    assert!(
        records.len() >= 10,
        "the fixtures hold every kind of record"
    );
    records
}

#[test]
fn stream_records_are_read_or_skipped_as_malformed_never_panicking() {
    crate::run("stream records", mutated(seeds()), |raw| {
        let keys = &raw["dynamodb"]["Keys"];
        let what = keys["What"]["S"].as_str();
        // The state table's keys, exactly: two strings, ContactId and What.
        let ours = keys.as_object().is_some_and(|k| k.len() == 2)
            && keys["ContactId"]["S"].is_string()
            && what.is_some();
        match read(&raw) {
            Ok(record) => {
                prop_assert_eq!(
                    Some(record.sequence.as_str()),
                    raw["dynamodb"]["SequenceNumber"]
                        .as_str()
                        .or(Some("(no sequence number)"))
                );
                if !ours {
                    prop_assert_eq!(record.change, Change::OtherTable);
                } else if what == Some(INTEGRATION_STATUS) {
                    let contact = record.contact_id.as_ref().map(ContactId::as_str);
                    prop_assert_eq!(contact, raw["dynamodb"]["Keys"]["ContactId"]["S"].as_str());
                } else {
                    prop_assert_eq!(record.change, Change::Unrelated);
                }
            }
            Err(malformed) => {
                // Any other key of the table, and any other table's record, is
                // no concern of the consumer's: passed over, never called malformed.
                prop_assert!(
                    ours && what == Some(INTEGRATION_STATUS),
                    "a record of another key or table was called malformed: {malformed}"
                );
                prop_assert!(!malformed.reason.is_empty());
                prop_assert!(
                    !leaks(&malformed.reason),
                    "the reason echoes personal data: {}",
                    malformed.reason
                );
                prop_assert_eq!(
                    malformed.to_string(),
                    format!(
                        "malformed stream record {}: {}",
                        malformed.sequence, malformed.reason
                    )
                );
            }
        }
        Ok(())
    });
}
