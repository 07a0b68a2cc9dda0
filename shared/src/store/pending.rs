//! The pending-runs index: the open runs the abandoned-run sweep looks at.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use super::{request_error, Store, StoreError};
use crate::{
    table,
    time::{from_epoch_ms, to_epoch_ms},
    ContactId, RunId,
};

/// An open run found in the pending-runs index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueRun {
    pub contact_id: ContactId,
    pub run_id: Option<RunId>,
    pub function_name: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
}

/// An index entry: the table's keys and the projected run attributes.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexEntry {
    contact_id: String,
    run_id: Option<String>,
    function_name: Option<String>,
    deadline: Option<i64>,
}

impl Store {
    /// Open runs of one index shard whose deadline is before `cutoff`, oldest
    /// first, at most `limit`. The index is eventually consistent: a run listed
    /// here may have finished since, which the conditional transition finds out.
    pub async fn overdue_runs(
        &self,
        shard: u8,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OverdueRun>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::PENDING_RUNS_INDEX)
            .key_condition_expression("#shard = :shard AND #deadline < :cutoff")
            .expression_attribute_names("#shard", table::PENDING_SHARD)
            .expression_attribute_names("#deadline", table::DEADLINE)
            .expression_attribute_values(":shard", AttributeValue::N(shard.to_string()))
            .expression_attribute_values(
                ":cutoff",
                AttributeValue::N(to_epoch_ms(cutoff).to_string()),
            )
            .limit(limit)
            .send()
            .await
            .map_err(request_error("Query"))?;
        let mut runs = Vec::new();
        for item in output.items.unwrap_or_default() {
            // An entry that does not read as a run is skipped, not fatal: one bad
            // item must not stop every other abandoned run from being timed out.
            let entry = from_item::<IndexEntry>(item).ok();
            let contact = entry
                .as_ref()
                .and_then(|e| ContactId::parse(&*e.contact_id).ok());
            let (Some(entry), Some(contact_id)) = (entry, contact) else {
                tracing::warn!(shard, "skipping an unreadable pending-runs entry");
                continue;
            };
            runs.push(OverdueRun {
                contact_id,
                run_id: entry.run_id.and_then(|id| RunId::parse(id).ok()),
                function_name: entry.function_name,
                deadline: entry.deadline.and_then(from_epoch_ms),
            });
        }
        Ok(runs)
    }
}
