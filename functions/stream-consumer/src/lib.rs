//! The stream consumer: turns every finished integration run into CloudWatch
//! metrics exactly once, and times out runs nobody waits for any more.
//!
//! One Lambda function receives two kinds of event:
//!
//! - **DynamoDB stream batches** of the state table (`NEW_AND_OLD_IMAGES`, filtered
//!   by [`filter::FILTER_PATTERN`]), each contact's records in order and
//!   different contacts side by side ([`batch`]). Each record is read on its
//!   own ([`record`]), what it means is decided once, without DynamoDB
//!   ([`decide`]), and one executor does it ([`act`]): a finished run is
//!   stamped on its status item and measured only if the stamp lands, so
//!   deliveries and replays measure it once; an open run replaced by a new
//!   START is counted as abandoned; a legacy put is repaired. The answer is the
//!   partial batch response.
//! - **Scheduled events**, which sweep the pending-runs index for runs past their
//!   deadline plus a grace period ([`sweep`]). Stream batches sweep too, throttled.
//!
//! Metrics are CloudWatch Embedded Metric Format lines ([`metrics`], [`emit`]).

mod act;
pub mod batch;
pub mod config;
pub mod decide;
pub mod emit;
pub mod filter;
pub mod metrics;
pub mod record;
pub mod sweep;

use std::sync::Arc;

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::Value;
use shared::{Store, StoreError};

pub use batch::{Outcome, RecordReport};
pub use config::ConsumerConfig;
pub use filter::FILTER_PATTERN;
pub use metrics::{MetricsSink, StdoutSink};
pub use sweep::SweepReport;

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("the event is neither a DynamoDB stream batch nor a scheduled event")]
    UnknownEvent,
    #[error("the abandoned-run sweep failed")]
    Sweep(#[source] StoreError),
}

impl ConsumerError {
    /// Whether invoking again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ConsumerError::UnknownEvent => false,
            ConsumerError::Sweep(err) => err.is_retryable(),
        }
    }
}

/// What one stream batch came to: a report per record, the sweep if one ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub records: Vec<RecordReport>,
    pub sweep: Option<SweepReport>,
}

impl BatchReport {
    /// The partial batch response: the first failed record in the batch's
    /// order (the lowest failed sequence number of the shard), if any, so
    /// Lambda checkpoints everything before it and retries from it on. Every
    /// record before it was processed: a contact's records stop only at its
    /// own failure. Later records of other contacts, processed already, come
    /// again and are found measured.
    pub fn response(&self) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        let first_failed = self
            .records
            .iter()
            .find(|report| matches!(report.outcome, Outcome::Failed(_)));
        if let Some(report) = first_failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(report.sequence.clone());
            response.batch_item_failures.push(failure);
        }
        response
    }
}

/// The consumer, with the store, its settings and where metrics go.
pub struct Consumer {
    store: Store,
    config: ConsumerConfig,
    sink: Arc<dyn MetricsSink>,
    sweeper: sweep::Sweeper,
}

impl Consumer {
    pub fn new(store: Store, config: ConsumerConfig, sink: Arc<dyn MetricsSink>) -> Self {
        Self {
            store,
            config,
            sink,
            sweeper: sweep::Sweeper::default(),
        }
    }

    /// The Lambda handler: dispatches on the kind of event.
    pub async fn handle(&self, payload: Value) -> Result<Value, ConsumerError> {
        if let Some(records) = payload.get("Records").and_then(Value::as_array) {
            let report = self.stream_batch(records).await;
            // Serialising a struct of strings cannot fail.
            return Ok(
                serde_json::to_value(report.response()).expect("a batch response serialises")
            );
        }
        if payload.get("detail-type").is_some() || payload.get("source").is_some() {
            let report = self.scheduled().await?;
            return Ok(serde_json::to_value(report).expect("a sweep report serialises"));
        }
        Err(ConsumerError::UnknownEvent)
    }

    /// A stream batch: its records in order, then a sweep if one is due. A failed
    /// sweep is logged, not reported: the records themselves were fine.
    pub async fn stream_batch(&self, records: &[Value]) -> BatchReport {
        let records = self.process_records(records).await;
        let sweep = match self.sweeper.sweep_if_due(&self.store, &self.config).await {
            Ok(sweep) => sweep,
            Err(err) => {
                tracing::warn!(error = %err, "SWEEP_FAILED");
                None
            }
        };
        BatchReport { records, sweep }
    }

    /// A scheduled event: always sweeps.
    pub async fn scheduled(&self) -> Result<SweepReport, ConsumerError> {
        let report = self
            .sweeper
            .sweep(&self.store, &self.config)
            .await
            .map_err(ConsumerError::Sweep)?;
        tracing::info!(
            timed_out = report.timed_out,
            already_finished = report.already_finished,
            "SWEEP_DONE"
        );
        Ok(report)
    }

    fn emit(&self, document: metrics::Document) {
        self.sink
            .write_line(document.to_line(&self.config.namespace));
    }
}
