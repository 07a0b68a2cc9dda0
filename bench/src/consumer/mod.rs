//! The consumer's throughput against DynamoDB Local: a batch of 10,000 records
//! that are not about integration status, a batch of 1,000 completions of runs
//! really in the table (each of its own contact) worked on in order and, side
//! by side in the same run, 16 contacts at once, and the same completions
//! delivered again. Metrics go to a counter, not the terminal, so only the
//! consumer's own work is timed.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use kit::metrics::CountingSink;
use serde_json::Value;
use shared::{ContactId, RunStart, Store, StoreError, SystemClock};
use stream_consumer::{Consumer, ConsumerConfig};

use synthetic::{completion_record, unrelated_record, FUNCTION};

pub mod synthetic;

/// Records in the batch of unrelated records.
pub const UNRELATED: usize = 10_000;
/// Completions in the batch of completions.
pub const COMPLETIONS: usize = 1_000;

pub const UNRELATED_LABEL: &str = "unrelated records";
/// The completions in order, record by record, as before contacts were
/// worked on side by side (`CONTACTS_AT_ONCE=1`).
pub const IN_ORDER_LABEL: &str = "completions, in order (1 contact at once)";
/// The completions as the consumer is configured (`CONTACTS_AT_ONCE`, default 16).
pub const CONCURRENT_LABEL: &str = "completions, 16 contacts at once";

/// One figure: records per second, the median of the repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub label: &'static str,
    pub records: usize,
    pub records_per_second: f64,
    pub median: Duration,
}

/// Runs the benchmark on a fresh table and returns its figures.
pub async fn run(
    client: aws_sdk_dynamodb::Client,
    repetitions: usize,
) -> Result<Vec<Figure>, crate::Error> {
    let table = format!("bench-{}", uuid::Uuid::new_v4().simple());
    kit::aws::create_table(&client, &table, &shared::table::STATE_TABLE).await?;
    let store = Store::new(client, &table, Arc::new(SystemClock));
    let sink = Arc::new(CountingSink::default());
    // One sweep at the first batch, then none: the sweep is not what is measured.
    let config = ConsumerConfig {
        sweep_interval: Duration::from_secs(3_600),
        ..ConsumerConfig::default()
    };
    // Today's consumer before contacts were worked on side by side: the batch
    // in order, record by record; and the consumer as it is configured.
    let in_order = Consumer::new(
        store.clone(),
        ConsumerConfig {
            contacts_at_once: 1,
            ..config.clone()
        },
        sink.clone(),
    );
    let consumer = Consumer::new(store.clone(), config, sink.clone());

    let unrelated: Vec<Value> = (0..UNRELATED).map(|i| unrelated_record(i as u64)).collect();
    let mut unrelated_times = Vec::new();
    let mut in_order_times = Vec::new();
    let mut completion_times = Vec::new();
    let mut replay_times = Vec::new();
    for repetition in 0..repetitions.max(1) {
        unrelated_times.push(time(&consumer, &unrelated).await);
        let ordered = completions(&store, 2 * repetition).await?;
        in_order_times.push(measuring(&in_order, &ordered, &sink).await);
        let side_by_side = completions(&store, 2 * repetition + 1).await?;
        completion_times.push(measuring(&consumer, &side_by_side, &sink).await);
        replay_times.push(time(&consumer, &side_by_side).await);
    }
    Ok(vec![
        figure(UNRELATED_LABEL, UNRELATED, unrelated_times),
        figure(IN_ORDER_LABEL, COMPLETIONS, in_order_times),
        figure(CONCURRENT_LABEL, COMPLETIONS, completion_times),
        figure(
            "completions delivered again (already measured)",
            COMPLETIONS,
            replay_times,
        ),
    ])
}

/// [`time`] of a batch of completions, checked to have been measured.
async fn measuring(consumer: &Consumer, completions: &[Value], sink: &CountingSink) -> Duration {
    let before = sink.0.load(Ordering::Relaxed);
    let took = time(consumer, completions).await;
    let emitted = sink.0.load(Ordering::Relaxed) - before;
    // Each completion emits its document; the batch adds its stream lag.
    assert!(
        emitted > COMPLETIONS,
        "the completions were not measured ({emitted} documents)"
    );
    took
}

async fn time(consumer: &Consumer, records: &[Value]) -> Duration {
    let started = Instant::now();
    let report = consumer.stream_batch(records).await;
    let elapsed = started.elapsed();
    let failed = report
        .records
        .iter()
        .filter(|r| matches!(r.outcome, stream_consumer::Outcome::Failed(_)))
        .count();
    if failed > 0 {
        tracing::warn!(failed, "records failed during the benchmark");
    }
    elapsed
}

fn figure(label: &'static str, records: usize, mut times: Vec<Duration>) -> Figure {
    times.sort();
    let median = times[times.len() / 2];
    Figure {
        label,
        records,
        records_per_second: records as f64 / median.as_secs_f64(),
        median,
    }
}

/// [`COMPLETIONS`] runs started and finished through the store, 16 at a time, as records.
async fn completions(store: &Store, repetition: usize) -> Result<Vec<Value>, StoreError> {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut records = Vec::new();
            for i in (worker..COMPLETIONS).step_by(16) {
                let contact = ContactId::parse(format!("bench-{repetition}-{i}"))
                    .expect("a short id without spaces is valid");
                let start = RunStart {
                    function_name: FUNCTION.into(),
                    timeout: Duration::from_secs(10),
                };
                let run = store.start(&contact, start).await?;
                store.done(&contact, Some(&run.id), &[]).await?;
                records.push((
                    i,
                    completion_record(&run, (repetition * COMPLETIONS + i) as u64),
                ));
            }
            Ok::<_, StoreError>(records)
        });
    }
    let mut all = Vec::with_capacity(COMPLETIONS);
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("a benchmark task does not panic")?);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, record)| record).collect())
}
