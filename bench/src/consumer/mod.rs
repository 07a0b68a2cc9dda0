//! The consumer's throughput against DynamoDB Local: a batch of 10,000 records
//! that are not about integration status, a batch of 1,000 completions of runs
//! really in the table (each of its own contact) worked on in order and, side
//! by side in the same run, 16 contacts at once, and the same completions
//! delivered again. The completions are timed twice more with a round trip
//! added to every request ([`round_trip`]), as DynamoDB's in a region. Metrics
//! go to a counter, not the terminal, so only the consumer's own work is
//! timed; what the completions cost on DynamoDB is metered.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use kit::metrics::CountingSink;
use round_trip::RoundTrip;
use serde_json::Value;
use shared::{ContactId, RunStart, Store, StoreError, SystemClock};
use stream_consumer::{Consumer, ConsumerConfig};

use crate::meter::Meter;
use aws_sdk_dynamodb::Client;

use synthetic::{completion_record, unrelated_record, FUNCTION};

mod round_trip;
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
/// The round trip added to every request in the last two figures: DynamoDB's
/// own, a few milliseconds within a region, which loopback does not have.
pub const ROUND_TRIP: Duration = Duration::from_millis(5);
pub const IN_ORDER_ROUND_TRIP_LABEL: &str =
    "completions, in order (1 contact at once), 5 ms round trip";
pub const CONCURRENT_ROUND_TRIP_LABEL: &str = "completions, 16 contacts at once, 5 ms round trip";

/// What the section measured: its figures, and what one completion cost the
/// consumer on DynamoDB.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub figures: Vec<Figure>,
    /// Read and write request units, and requests, per completion measured.
    pub per_completion: (f64, f64, f64),
}

impl Measured {
    /// The figure labelled `label`, if it was measured.
    pub fn figure(&self, label: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.label == label)
    }
}

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
) -> Result<Measured, crate::Error> {
    let table = format!("bench-{}", uuid::Uuid::new_v4().simple());
    kit::aws::create_table(&client, &table, &shared::table::STATE_TABLE).await?;
    let store = Store::new(client.clone(), &table, Arc::new(SystemClock));
    let sink = Arc::new(CountingSink::default());
    // DynamoDB Local's address, as every client of the benchmark is given it.
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map_err(|_| "AWS_ENDPOINT_URL_DYNAMODB is not set: start DynamoDB Local first")?;
    let proxy = RoundTrip::start(&upstream, ROUND_TRIP).await?;
    let far = Store::new(
        Client::from_conf(
            client
                .config()
                .to_builder()
                .endpoint_url(&proxy.url)
                .build(),
        ),
        &table,
        Arc::new(SystemClock),
    );
    let meter = Meter::default();
    let metered = Store::new(meter.client(&client), &table, Arc::new(SystemClock));
    // One sweep at the first batch, then none: the sweep is not what is measured.
    let config = ConsumerConfig {
        sweep_interval: Duration::from_secs(3_600),
        ..ConsumerConfig::default()
    };
    // Today's consumer before contacts were worked on side by side: the batch
    // in order, record by record (`CONTACTS_AT_ONCE=1`); and the consumer as
    // it is configured; each on loopback and across a round trip.
    let consumer = |store: &Store, contacts_at_once: Option<usize>| {
        let config = ConsumerConfig {
            contacts_at_once: contacts_at_once.unwrap_or(config.contacts_at_once),
            ..config.clone()
        };
        Consumer::new(store.clone(), config, sink.clone())
    };
    let batches = [
        (IN_ORDER_LABEL, consumer(&store, Some(1))),
        (CONCURRENT_LABEL, consumer(&metered, None)),
        (IN_ORDER_ROUND_TRIP_LABEL, consumer(&far, Some(1))),
        (CONCURRENT_ROUND_TRIP_LABEL, consumer(&far, None)),
    ];
    // Each consumer's first batch sweeps: an empty one, before the clock runs.
    for (_, consumer) in &batches {
        time(consumer, &[]).await;
    }
    let unrelated: Vec<Value> = (0..UNRELATED).map(|i| unrelated_record(i as u64)).collect();
    let mut unrelated_times = Vec::new();
    let mut times = vec![Vec::new(); batches.len()];
    let mut replay_times = Vec::new();
    let mut spent = (0.0, 0.0, 0.0);
    let mut fresh = 0;
    for _ in 0..repetitions.max(1) {
        unrelated_times.push(time(&batches[1].1, &unrelated).await);
        for (i, (_, consumer)) in batches.iter().enumerate() {
            let records = completions(&store, fresh).await?;
            fresh += 1;
            meter.reset();
            times[i].push(measuring(consumer, &records, &sink).await);
            if i == 1 {
                // What measuring cost, not seeing the batch again.
                let usage = meter.usage();
                spent.0 += usage.rcu;
                spent.1 += usage.wcu();
                spent.2 += f64::from(usage.requests);
                replay_times.push(time(consumer, &records).await);
            }
        }
    }
    let measured = (repetitions.max(1) * COMPLETIONS) as f64;
    let mut figures = vec![figure(UNRELATED_LABEL, UNRELATED, unrelated_times)];
    for ((label, _), times) in batches.iter().zip(times) {
        figures.push(figure(label, COMPLETIONS, times));
    }
    figures.insert(
        3,
        figure(
            "completions delivered again (already measured)",
            COMPLETIONS,
            replay_times,
        ),
    );
    Ok(Measured {
        figures,
        per_completion: (spent.0 / measured, spent.1 / measured, spent.2 / measured),
    })
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
