//! The abandoned-run sweep: open runs past their deadline plus a grace period are
//! timed out through the conditional transition check-timeout also uses, so of
//! the two only one can win. Their metrics come later, from the TIMEOUT's stream
//! record, like every other finished run's.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::{table::PENDING_SHARDS, Store, StoreError, Transition};

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
                    .sweep_timeout(&run.contact_id, run.run_id.as_ref())
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
