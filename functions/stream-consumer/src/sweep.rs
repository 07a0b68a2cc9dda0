//! The abandoned-run sweep: open runs past their deadline plus a grace period are
//! timed out through the conditional transition check-timeout also uses, so of
//! the two only one can win. Their metrics come later, from the TIMEOUT's stream
//! record, like every other finished run's.

use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::from_item;
use shared::{
    keys::{SWEEP, TIMED_OUT_BY},
    store::request_error,
    table::{self, PENDING_SHARDS},
    time::{from_epoch_ms, to_epoch_ms},
    ContactId, RunId, Store, StoreError, Transition,
};

use crate::config::ConsumerConfig;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Runs this sweep timed out.
    pub timed_out: usize,
    /// Runs found overdue that had finished or moved on meanwhile.
    pub already_finished: usize,
}

/// Sweeps, and remembers when it last did, to throttle the sweeps of stream batches.
#[derive(Debug, Default)]
pub struct Sweeper {
    last: Mutex<Option<DateTime<Utc>>>,
}

impl Sweeper {
    /// Sweeps now.
    pub async fn sweep(
        &self,
        store: &Store,
        config: &ConsumerConfig,
    ) -> Result<SweepReport, StoreError> {
        let now = store.clock().now();
        *self.lock() = Some(now);
        let cutoff =
            now - chrono::Duration::from_std(config.grace).unwrap_or(chrono::Duration::MAX);
        let mut report = SweepReport::default();
        for shard in 0..PENDING_SHARDS {
            for run in store
                .overdue_runs(shard, cutoff, config.sweep_limit)
                .await?
            {
                match store
                    .timeout_abandoned(&run.contact_id, run.run_id.as_ref())
                    .await?
                {
                    Transition::Applied => {
                        report.timed_out += 1;
                        tracing::info!(
                            contact_id = %run.contact_id,
                            run_id = run.run_id.as_ref().map(|id| id.as_str()),
                            function_name = run.function_name.as_deref(),
                            "ABANDONED_RUN_TIMED_OUT"
                        );
                    }
                    Transition::Refused(_) => report.already_finished += 1,
                }
            }
        }
        Ok(report)
    }

    /// Sweeps if the last sweep is at least `sweep_interval` old; `None` otherwise.
    pub async fn sweep_if_due(
        &self,
        store: &Store,
        config: &ConsumerConfig,
    ) -> Result<Option<SweepReport>, StoreError> {
        let now = store.clock().now();
        let due = match *self.lock() {
            None => true,
            Some(last) => (now - last)
                .to_std()
                .is_ok_and(|since| since >= config.sweep_interval),
        };
        if !due {
            return Ok(None);
        }
        self.sweep(store, config).await.map(Some)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<DateTime<Utc>>> {
        // Writing one Option cannot be interrupted half-way, so a poisoned lock is fine.
        self.last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

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
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    function_name: Option<String>,
    #[serde(default)]
    deadline: Option<i64>,
}

/// The sweep's reads and writes, on the state table's store: provided
/// methods, so a store is all an implementation gives.
pub(crate) trait PendingRuns {
    fn store(&self) -> &Store;

    /// Open runs of one index shard whose deadline is before `cutoff`, oldest
    /// first, at most `limit`. The index is eventually consistent: a run listed
    /// here may have finished since, which the conditional transition finds out.
    async fn overdue_runs(
        &self,
        shard: u8,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OverdueRun>, StoreError> {
        let output = self
            .store()
            .client()
            .query()
            .table_name(self.store().table())
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
            let Ok(entry) = from_item::<IndexEntry>(item) else {
                tracing::warn!(shard, "skipping an unreadable pending-runs entry");
                continue;
            };
            let Ok(contact_id) = ContactId::parse(entry.contact_id) else {
                tracing::warn!(
                    shard,
                    "skipping a pending-runs entry without a valid contact id"
                );
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

    /// `START`/`RUN` → `TIMEOUT` for a run nobody waits for any more: what
    /// [`Store::timeout`] writes, through the same conditional transition (so only
    /// one of the two can win), plus `TimedOutBy = sweep`.
    async fn timeout_abandoned(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
    ) -> Result<Transition, StoreError> {
        self.store()
            .timeout_marked(
                contact_id,
                run,
                &[(TIMED_OUT_BY, AttributeValue::S(SWEEP.into()))],
            )
            .await
    }
}

impl PendingRuns for Store {
    fn store(&self) -> &Store {
        self
    }
}
