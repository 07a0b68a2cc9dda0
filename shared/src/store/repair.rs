//! Repairs: the stream consumer's one multi-item write outside the run
//! transitions. An integration function written for the original Rules Engine
//! replaces the status item with a bare put (no run attributes, no
//! condition); the consumer sees that on the stream and writes back what the
//! put took away. Every repair is guarded by what it read, so it lands only
//! on the write it saw and never on a newer one.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem, Update};

use super::{Conditional, Item, Store, StoreError, INTEGRATION_STATUS};
use crate::{table, ContactId, ItemChange};

/// One repair of a contact's state, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Repair {
    /// The status item's update and the condition it is made on.
    pub status: Conditional,
    /// Items that must still hold these values (`What`, `Value`).
    pub unchanged: Vec<(String, String)>,
    /// Items removed, each only if it is still the write it was read as
    /// (`What`, `Expiry`): the late writer's own output, say.
    pub remove_if_expiry: Vec<(String, i64)>,
    /// Plain state changes that land with it.
    pub changes: Vec<ItemChange>,
}

impl Store {
    /// Writes `repair` in one transaction; `false` when one of its conditions
    /// was refused (the state moved on since it was read), and nothing was written.
    pub async fn repair(&self, contact_id: &ContactId, repair: Repair) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let status = at_status_item!(Update::builder(), self, contact_id, repair.status)
            .build()
            .expect("table, key and update expression are set");
        let mut items = vec![TransactWriteItem::builder().update(status).build()];
        for (what, value) in &repair.unchanged {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(contact_id, what)))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", table::VALUE)
                .expression_attribute_values(":v", AttributeValue::S(value.clone()))
                .build()
                .expect("table, key and condition are set");
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        for (what, expiry) in &repair.remove_if_expiry {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(contact_id, what)))
                .condition_expression("#exp = :exp")
                .expression_attribute_names("#exp", table::EXPIRY)
                .expression_attribute_values(":exp", AttributeValue::N(expiry.to_string()))
                .build()
                .expect("table and key are set");
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        for change in &repair.changes {
            items.push(self.change_item(contact_id, change, now)?);
        }
        Ok(self.transact(contact_id, items).await?.is_ok())
    }

    /// Any item of a contact as stored, every attribute, read consistently.
    pub async fn raw_item(
        &self,
        contact_id: &ContactId,
        what: &str,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(contact_id, what)))
            .consistent_read(true)
            .send()
            .await
            .map_err(super::request_error("GetItem"))?;
        Ok(output.item)
    }
}
