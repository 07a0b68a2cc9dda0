//! The items of the state table as typed records, converted with `serde_dynamo`,
//! and the write of one state change inside a transaction.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::{Item, Store, StoreError, INTEGRATION_STATUS, RULE_START};
use crate::{
    table, time::from_epoch_ms, ContactId, IntegrationStatus, ItemChange, RunId, StatusRecord,
};

/// A plain state item as stored. Extra attributes are ignored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct StateItem {
    contact_id: String,
    what: String,
    value: String,
    expiry: i64,
}

/// The `IntegrationStatus` item with its run attributes.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct StatusItem {
    pub(super) contact_id: String,
    pub(super) what: String,
    pub(super) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) expiry: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) deadline: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) function_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ended_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pending_shard: Option<u8>,
}

/// Just the sort key and value of any item, for reading a whole contact.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AnyItem {
    pub(super) what: String,
    pub(super) value: Option<String>,
}

impl Store {
    /// The run's id on the `RuleStart` item, on condition that the item still
    /// holds the activation start read (the Rules Engine's next activation
    /// replaces the item, mark and all) and no other start marked it since
    /// (two starts of one activation at once: one opens the run).
    pub(super) fn mark_activation(
        &self,
        contact_id: &ContactId,
        run: &RunId,
        seen: &str,
    ) -> TransactWriteItem {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(contact_id, RULE_START)))
            .update_expression("SET #r = :r")
            .condition_expression("#v = :v AND attribute_not_exists(#r)")
            .expression_attribute_names("#r", table::RUN_ID)
            .expression_attribute_names("#v", table::VALUE)
            .expression_attribute_values(":r", AttributeValue::S(run.to_string()))
            .expression_attribute_values(":v", AttributeValue::S(seen.to_owned()))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// A whole item written in a transaction, replacing what was there.
    pub(super) fn put(&self, item: impl Serialize) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(
                to_item(item).expect("a typed record always converts to an item"),
            ))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    pub(super) fn change_item(
        &self,
        contact_id: &ContactId,
        change: &ItemChange,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        if change.what == INTEGRATION_STATUS {
            return Err(StoreError::ReservedKey {
                what: change.what.clone(),
            });
        }
        Ok(match &change.value {
            Some(value) => {
                let item = StateItem {
                    contact_id: contact_id.to_string(),
                    what: change.what.clone(),
                    value: value.clone(),
                    expiry: self.expiry(now),
                };
                self.put(item)
            }
            None => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(contact_id, &change.what)))
                    .build()
                    .expect("table and key are set");
                TransactWriteItem::builder().delete(delete).build()
            }
        })
    }
}

pub(super) fn item_what(item: &Item) -> String {
    match item.get(table::WHAT) {
        Some(AttributeValue::S(what)) => what.clone(),
        _ => "(no What)".into(),
    }
}

/// The run start marked on the Rules Engine's `RuleStart` item, if any
/// ([`crate::keys::RULE_START`]).
pub(super) fn activation_mark(item: &Item) -> Option<RunId> {
    match item.get(table::RUN_ID) {
        Some(AttributeValue::S(run)) => RunId::parse(run.clone()).ok(),
        _ => None,
    }
}

pub(super) fn status_record(
    contact_id: &ContactId,
    item: Item,
) -> Result<StatusRecord, StoreError> {
    let malformed = |reason: String| StoreError::Malformed {
        contact_id: contact_id.clone(),
        what: INTEGRATION_STATUS.into(),
        reason,
    };
    let record: StatusItem = from_item(item).map_err(|err| malformed(err.to_string()))?;
    let status = record
        .value
        .parse::<IntegrationStatus>()
        .map_err(|err| malformed(err.to_string()))?;
    let run_id = record
        .run_id
        .map(RunId::parse)
        .transpose()
        .map_err(|err| malformed(err.to_string()))?;
    let time = |ms: Option<i64>| ms.and_then(from_epoch_ms);
    Ok(StatusRecord {
        contact_id: contact_id.clone(),
        status,
        run_id,
        started_at: time(record.started_at),
        deadline: time(record.deadline),
        function_name: record.function_name,
        ended_at: time(record.ended_at),
    })
}
