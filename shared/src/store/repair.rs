//! Repairs of a legacy put: the stream consumer's multi-item writes outside
//! the run transitions. A legacy writer (an integration function written for
//! the Rules Engine) replaces the status item with a bare put, no run
//! attributes, no condition; the consumer sees that on the stream and writes
//! back what the put took away. Every repair is one transaction guarded by
//! the put it saw (no `RunId`, its status, its `Expiry`), so it never lands on
//! a newer write; `false` when a guard was refused and nothing was written.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem};
use chrono::{DateTime, Utc};

use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use super::{
    items::{attributes, item_what, status_item, AnyItem},
    update::{number, text, Update},
    Store, StoreError, INTEGRATION_STATUS,
};
use crate::{
    keys::{INTEGRATION_STRIPPED_RUN, OUTPUT_KEY},
    table::{self, *},
    time::to_epoch_ms,
    ContactId, ItemChange, StatusItem,
};

/// A run's identity put back on the legacy put that took it away (or on
/// what the same writer put there since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    /// The run as it was before the put: its id, start, deadline, function,
    /// measured runs.
    pub run: StatusItem,
    /// The put, as read: the guard.
    pub on: StatusItem,
    /// When the put finished the run (its `IntegrationEnd`), if it did.
    pub ended: Option<DateTime<Utc>>,
    /// The cause an `ERROR` put wrote beside it.
    pub cause: Option<String>,
    /// Only while `IntegrationStart` still holds this (the run's own start).
    pub start_unchanged: Option<String>,
    /// The identity came from `IntegrationStrippedRun`, removed with it.
    pub from_aside: bool,
}

/// A legacy put that landed after the caller was told the run's status,
/// undone: the told item back, what the late writer brought kept aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo {
    /// The status item the caller was told, as it was.
    pub told: StatusItem,
    /// The late put, as read: the guard.
    pub late: StatusItem,
    /// The puts this undoes (`<status>@<expiry>`), for `UndonePuts`.
    pub undone: Vec<String>,
    /// `IntegrationErrorCause` afterwards: written, or removed (`None`), or
    /// left as it is (no entry).
    pub cause: Option<Option<String>>,
    /// `IntegrationEnd` put back, as the Rules Engine writes it.
    pub end: Option<String>,
    /// `IntegrationLateFinish`, JSON text.
    pub late_finish: Option<String>,
    /// The late output's key, removed if it is still the late put's (its `Expiry`).
    pub remove_output: Option<(String, i64)>,
}

/// A contact's items as they stand now: the status item typed, every other
/// item's `Value` and `Expiry`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactNow {
    pub status: Option<StatusItem>,
    pub items: BTreeMap<String, (String, Option<i64>)>,
}

impl ContactNow {
    /// The `Value` of the item `what`.
    pub fn value(&self, what: &str) -> Option<&str> {
        self.items.get(what).map(|(value, _)| value.as_str())
    }

    /// What the legacy writer wrote to `what` in the same put as a status with
    /// `expiry` (one batch, one `Expiry`); `None` if another write replaced it.
    pub fn written_with(&self, what: &str, expiry: Option<i64>) -> Option<&str> {
        self.items
            .get(what)
            .filter(|(_, written)| *written == expiry)
            .map(|(value, _)| value.as_str())
    }

    /// The rule's output key, as the Rules Engine set it.
    pub fn output_key(&self) -> Option<&str> {
        self.value(OUTPUT_KEY)
    }
}

impl Store {
    /// A contact's items, read consistently (one Query): what a repair is decided on.
    pub async fn contact_now(&self, contact_id: &ContactId) -> Result<ContactNow, StoreError> {
        let mut now = ContactNow::default();
        for item in self.contact_items(contact_id).await? {
            if item_what(&item) == INTEGRATION_STATUS {
                now.status = Some(status_item(contact_id, item)?);
            } else if let Ok(AnyItem {
                what,
                value: Some(value),
                expiry,
            }) = from_item(item)
            {
                // An item that is not text is nothing a repair reads.
                now.items.insert(what, (value, expiry));
            }
        }
        Ok(now)
    }

    /// Puts a stripped run's identity back.
    pub async fn restore(&self, contact_id: &ContactId, r: &Restore) -> Result<bool, StoreError> {
        let run = &r.run;
        let identity = StatusItem {
            run_id: run.run_id.clone(),
            started_at: run.started_at,
            deadline: run.deadline,
            function_name: run.function_name.clone(),
            ended_at: r.ended,
            cause: r.cause.clone(),
            pending_shard: r
                .on
                .status
                .is_open()
                .then(|| table::pending_shard(contact_id.as_str())),
            ..StatusItem::bare(r.on.status, None)
        };
        let mut update = self.repaired(Update::default());
        for (name, value) in attributes(&identity) {
            if name != VALUE {
                update = update.set(name, value);
            }
        }
        let update = update.add(MEASURED_RUNS, &run.measured_runs);
        let mut items = vec![self.guarded(contact_id, update, &r.on)];
        if let Some(start) = &r.start_unchanged {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(contact_id, super::INTEGRATION_START)))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", VALUE)
                .expression_attribute_values(":v", text(start))
                .build()
                .expect("table, key and condition are set");
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        if r.from_aside {
            let aside = ItemChange::delete(INTEGRATION_STRIPPED_RUN);
            items.push(self.change_item(contact_id, &aside, self.clock.now())?);
        }
        Ok(self.transact(contact_id, items).await?.is_ok())
    }

    /// Undoes a late legacy put.
    pub async fn undo(&self, contact_id: &ContactId, u: &Undo) -> Result<bool, StoreError> {
        let told = &u.told;
        let mut update = self.repaired(Update::default());
        // Every attribute the told item had, but those the repair keeps its own.
        let own = [
            EXPIRY,
            REPAIRED_AT,
            PENDING_SHARD,
            UNDONE_PUTS,
            MEASURED_RUNS,
            MEASURED_BY,
        ];
        for (name, value) in attributes(told) {
            if !own.contains(&name) {
                update = update.set(name, value);
            }
        }
        let update = update
            .add(MEASURED_RUNS, &told.measured_runs)
            .add(UNDONE_PUTS, &u.undone);
        let now = self.clock.now();
        let mut items = vec![self.guarded(contact_id, update, &u.late)];
        let mut changes: Vec<ItemChange> = Vec::new();
        if let Some(cause) = &u.cause {
            let what = super::INTEGRATION_ERROR_CAUSE;
            changes.push(match cause {
                Some(cause) => ItemChange::put(what, cause),
                None => ItemChange::delete(what),
            });
        }
        if let Some(end) = &u.end {
            changes.push(ItemChange::put(super::INTEGRATION_END, end));
        }
        if let Some(kept) = &u.late_finish {
            changes.push(ItemChange::put(crate::keys::INTEGRATION_LATE_FINISH, kept));
        }
        for change in &changes {
            items.push(self.change_item(contact_id, change, now)?);
        }
        if let Some((what, expiry)) = &u.remove_output {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(contact_id, what)))
                .condition_expression("#exp = :exp")
                .expression_attribute_names("#exp", EXPIRY)
                .expression_attribute_values(":exp", number(*expiry))
                .build()
                .expect("table and key are set");
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(self.transact(contact_id, items).await?.is_ok())
    }

    /// `update` marked as the consumer's repair (`RepairedAt`, how its own
    /// record is known on the stream).
    fn repaired(&self, update: Update) -> Update {
        update.set(REPAIRED_AT, number(to_epoch_ms(self.clock.now())))
    }

    /// The status item's `update`, on condition that it is still exactly the
    /// put `seen`: no run id, the same status, the same `Expiry`.
    fn guarded(
        &self,
        contact_id: &ContactId,
        update: Update,
        seen: &StatusItem,
    ) -> TransactWriteItem {
        let update = update
            .only_if_absent(RUN_ID)
            .only_if_equal(VALUE, text(seen.status.as_str()))
            .only_if(EXPIRY, seen.expiry.map(number));
        let update = at_status_item!(
            aws_sdk_dynamodb::types::Update::builder(),
            self,
            contact_id,
            update
        )
        .build()
        .expect("table, key and update expression are set");
        TransactWriteItem::builder().update(update).build()
    }
}
