//! The items of the state table as typed records, converted with `serde_dynamo`,
//! and the write of one state change inside a transaction.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::to_item;

use super::{Item, Store, StoreError, INTEGRATION_STATUS, RULE_START};
use crate::{table, time::to_epoch_ms, ContactId, ItemChange, RunId, StatusItem};

/// A plain state item as stored. Extra attributes are ignored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct StateItem {
    contact_id: String,
    what: String,
    value: String,
    expiry: i64,
}

/// Just the sort key, value and TTL of any item, for reading a whole contact.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AnyItem {
    pub(super) what: String,
    pub(super) value: Option<String>,
    pub(super) expiry: Option<i64>,
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
        let item = to_item(item).expect("a typed record always converts to an item");
        self.put_item(item)
    }

    /// The contact's status item `status`, written whole in a transaction.
    pub(super) fn put_status(
        &self,
        contact_id: &ContactId,
        status: &StatusItem,
    ) -> TransactWriteItem {
        let mut item = Self::key(contact_id, INTEGRATION_STATUS);
        item.extend(
            attributes(status)
                .into_iter()
                .map(|(name, v)| (name.to_owned(), v)),
        );
        self.put_item(item)
    }

    fn put_item(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
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

/// The status item of `item`, read as [`StatusItem::read`] reads it.
pub(super) fn status_item(contact_id: &ContactId, item: Item) -> Result<StatusItem, StoreError> {
    StatusItem::read(item, &|err| err.to_string()).map_err(|reason| StoreError::Malformed {
        contact_id: contact_id.clone(),
        what: INTEGRATION_STATUS.into(),
        reason,
    })
}

/// Every attribute `item` has, but the keys, as DynamoDB holds them: the
/// one place a status item becomes attributes.
pub(super) fn attributes(item: &StatusItem) -> Vec<(&'static str, AttributeValue)> {
    let n = |n: i64| AttributeValue::N(n.to_string());
    let s = |s: &str| AttributeValue::S(s.to_owned());
    let ms = |at: Option<DateTime<Utc>>| at.map(|at| n(to_epoch_ms(at)));
    let set = |keys: &[String]| (!keys.is_empty()).then(|| AttributeValue::Ss(keys.to_vec()));
    let all = [
        (table::VALUE, Some(s(item.status.as_str()))),
        (table::EXPIRY, item.expiry.map(n)),
        (table::RUN_ID, item.run_id.as_ref().map(|id| s(id.as_str()))),
        (table::STARTED_AT, ms(item.started_at)),
        (table::DEADLINE, ms(item.deadline)),
        (table::FUNCTION_NAME, item.function_name.as_deref().map(s)),
        (table::ENDED_AT, ms(item.ended_at)),
        (
            table::PENDING_SHARD,
            item.pending_shard.map(|shard| n(shard.into())),
        ),
        (table::CAUSE, item.cause.as_deref().map(s)),
        (table::TIMED_OUT_BY, item.timed_out_by.as_deref().map(s)),
        (table::REPAIRED_AT, item.repaired_at.map(n)),
        (table::UNDONE_PUTS, set(&item.undone_puts)),
        (table::MEASURED_AT, item.measured_at.map(n)),
        (
            table::MEASURED_DURATION_MS,
            item.measured_duration_ms.map(n),
        ),
        (table::MEASURED_RUNS, set(&item.measured_runs)),
        (table::MEASURED_BY, item.measured_by.as_deref().map(s)),
    ];
    all.into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}
