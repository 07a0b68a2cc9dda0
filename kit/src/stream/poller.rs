//! The local stand-in for Lambda's event source mapping on the state table's
//! stream: reads every shard with the DynamoDB Streams API, drops what the
//! template's filter drops, delivers batches in the shape Lambda delivers, and
//! honours the partial batch response: after a batch item failure it delivers
//! again from the failed record on, a bounded number of times, then skips.

use std::{collections::BTreeMap, time::Duration};

use aws_sdk_dynamodbstreams::{types::ShardIteratorType, Client};
use serde_json::Value;

use super::{
    event::lambda_record,
    filter::{Filter, FilterError},
    target::ConsumerTarget,
};

mod redelivery;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("DynamoDB Streams {operation} failed")]
    Streams {
        operation: &'static str,
        #[source]
        source: Box<aws_sdk_dynamodbstreams::Error>,
    },
    #[error("table {table} could not be described")]
    DescribeTable {
        table: String,
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    #[error("table {table} has no stream")]
    NoStream { table: String },
    #[error("the filter pattern cannot be applied")]
    Filter(#[from] FilterError),
}

fn streams_error<E>(operation: &'static str) -> impl FnOnce(E) -> PollError
where
    aws_sdk_dynamodbstreams::Error: From<E>,
{
    move |err| PollError::Streams {
        operation,
        source: Box::new(err.into()),
    }
}

/// Where a poller starts reading shards that exist when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// Records per invocation (the mapping's `BatchSize`).
    pub batch_size: usize,
    /// Deliveries of a failing batch before its rest is skipped.
    pub max_attempts: u32,
    /// The wait before a redelivery, times the attempt number.
    pub retry_delay: Duration,
    pub start: StartingPosition,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            batch_size: 100,
            max_attempts: 3,
            retry_delay: Duration::from_millis(200),
            start: StartingPosition::TrimHorizon,
        }
    }
}

/// What polling did, added up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub read: usize,
    pub filtered_out: usize,
    pub invocations: usize,
    pub redeliveries: usize,
    pub skipped: usize,
}

/// A shard's reading position; `None` once the shard is closed and read to its end.
struct ShardState {
    parent: Option<String>,
    iterator: Option<String>,
    /// The last record delivered (or skipped after its retries): where a new
    /// iterator starts when the old one stops working.
    last_sequence: Option<String>,
    /// The iterator failed (an expired one, or a DynamoDB restarted under it):
    /// the next pass asks for a new one after `last_sequence`.
    renew: bool,
}

pub struct Poller<T> {
    streams: Client,
    stream_arn: String,
    region: String,
    target: T,
    filter: Filter,
    config: PollerConfig,
    shards: BTreeMap<String, ShardState>,
    started: bool,
}

impl<T: ConsumerTarget> Poller<T> {
    /// A poller on `table`'s latest stream, filtering with `pattern`.
    pub async fn for_table(
        dynamodb: &aws_sdk_dynamodb::Client,
        streams: Client,
        table: &str,
        pattern: &str,
        target: T,
        config: PollerConfig,
    ) -> Result<Self, PollError> {
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|err| PollError::DescribeTable {
                table: table.into(),
                source: Box::new(err.into()),
            })?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| PollError::NoStream {
                table: table.into(),
            })?
            .to_owned();
        let region = dynamodb
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        Ok(Self {
            streams,
            stream_arn,
            region,
            target,
            filter: Filter::parse(pattern)?,
            config,
            shards: BTreeMap::new(),
            started: false,
        })
    }

    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    /// Polls until a whole pass over the shards reads nothing, at most `max_passes`.
    pub async fn drain(&mut self, max_passes: usize) -> Result<PollReport, PollError> {
        let mut total = PollReport::default();
        for _ in 0..max_passes {
            let pass = self.poll_once().await?;
            let read = pass.read;
            add(&mut total, pass);
            if read == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// One pass: finds new shards, then reads each open one to its current end.
    pub async fn poll_once(&mut self) -> Result<PollReport, PollError> {
        self.discover_shards().await?;
        let mut report = PollReport::default();
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            // A child shard waits until its parent is read to the end, so each
            // item's records stay in order, as with Lambda.
            let parent_open = self.shards[&id]
                .parent
                .as_ref()
                .and_then(|parent| self.shards.get(parent))
                .is_some_and(|parent| parent.iterator.is_some());
            if !parent_open {
                self.read_shard(&id, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn read_shard(&mut self, id: &str, report: &mut PollReport) -> Result<(), PollError> {
        if self.shards[id].renew {
            self.renew_iterator(id).await?;
        }
        while let Some(iterator) = self.shards[id].iterator.clone() {
            let output = match self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .limit(1000)
                .send()
                .await
            {
                Ok(output) => output,
                Err(err) => {
                    if let Some(state) = self.shards.get_mut(id) {
                        state.renew = true;
                    }
                    return Err(streams_error("GetRecords")(err));
                }
            };
            let records = output.records();
            report.read += records.len();
            let events: Vec<Value> = records
                .iter()
                .map(|record| lambda_record(record, &self.stream_arn, &self.region))
                .filter(|event| self.filter.matches(event))
                .collect();
            report.filtered_out += records.len() - events.len();
            for batch in events.chunks(self.config.batch_size.max(1)) {
                self.deliver(batch.to_vec(), report).await;
            }
            let empty = records.is_empty();
            if let Some(state) = self.shards.get_mut(id) {
                state.iterator = output.next_shard_iterator().map(str::to_owned);
                if let Some(last) = records.last().and_then(|r| r.dynamodb()) {
                    state.last_sequence = last.sequence_number().map(str::to_owned);
                }
            }
            if empty {
                break;
            }
        }
        Ok(())
    }

    async fn discover_shards(&mut self) -> Result<(), PollError> {
        let mut after: Option<String> = None;
        loop {
            let described = self
                .streams
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(after.clone())
                .send()
                .await
                .map_err(streams_error("DescribeStream"))?;
            let Some(description) = described.stream_description() else {
                break;
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if self.shards.contains_key(id) {
                    continue;
                }
                // Shards that appear later are children: always read from their start.
                let kind = match (self.started, self.config.start) {
                    (false, StartingPosition::Latest) => ShardIteratorType::Latest,
                    _ => ShardIteratorType::TrimHorizon,
                };
                let iterator = self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(id)
                    .shard_iterator_type(kind)
                    .send()
                    .await
                    .map_err(streams_error("GetShardIterator"))?
                    .shard_iterator
                    .clone();
                let parent = shard.parent_shard_id().map(str::to_owned);
                self.shards.insert(
                    id.to_owned(),
                    ShardState {
                        parent,
                        iterator,
                        last_sequence: None,
                        renew: false,
                    },
                );
            }
            after = description.last_evaluated_shard_id().map(str::to_owned);
            if after.is_none() {
                break;
            }
        }
        self.started = true;
        Ok(())
    }
}

impl<T> Poller<T> {
    /// A new iterator for a shard whose old one failed: right after the last
    /// record delivered, or from the shard's start when none was. Records are
    /// never skipped this way; a few may come again, which the consumer expects.
    async fn renew_iterator(&mut self, id: &str) -> Result<(), PollError> {
        let last = self.shards[id].last_sequence.clone();
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(id);
        let request = match &last {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let iterator = request
            .send()
            .await
            .map_err(streams_error("GetShardIterator"))?
            .shard_iterator
            .clone();
        tracing::info!(
            shard = id,
            after = last.as_deref(),
            "SHARD_ITERATOR_RENEWED"
        );
        if let Some(state) = self.shards.get_mut(id) {
            state.iterator = iterator;
            state.renew = false;
        }
        Ok(())
    }
}

fn add(total: &mut PollReport, pass: PollReport) {
    total.read += pass.read;
    total.filtered_out += pass.filtered_out;
    total.invocations += pass.invocations;
    total.redeliveries += pass.redeliveries;
    total.skipped += pass.skipped;
}
