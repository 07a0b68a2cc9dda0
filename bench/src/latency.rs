//! Detection latency: from the moment the integration function's `DONE` has
//! committed to the moment start answers Connect, for integrations of a given
//! length, ours (the real `integration_start::handle` on `shared::Store`) and the
//! naive poller's, contacts of both sides interleaved so they share the machine's
//! noise.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::Semaphore;

use crate::{
    lab::{self, Job, Lab, NAIVE_FUNCTION, OURS_FUNCTION},
    meter::Meter,
    progress::Progress,
};
use kit::{connect_event, percentile};

/// One side's figures for one integration length.
#[derive(Debug, Clone)]
pub struct Side {
    pub median_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Read requests per start call, median.
    pub reads_per_call: u32,
    pub runs: usize,
    /// Runs whose `DONE` start did not see within its wait (the machine was too
    /// slow for the longest integrations): left out of the figures.
    pub unseen: usize,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub work_ms: u64,
    pub in_flight: usize,
    pub ours: Side,
    pub naive: Side,
}

/// The spread of the stand-in's queueing delays: the naive poller's period.
pub const QUEUE_SPREAD_MS: u64 = 100;

/// Contacts in flight for an integration of `work_ms`: more for the long ones,
/// so the row takes minutes, not an hour.
pub fn in_flight(work_ms: u64) -> usize {
    (work_ms as usize / 200).clamp(4, 8)
}

pub async fn measure(lab: &Arc<Lab>, work_ms: u64, runs: usize, progress: &Progress) -> Row {
    let in_flight = in_flight(work_ms);
    let gate = Arc::new(Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..runs * 2 {
        let permit = gate.clone().acquire_owned().await.expect("never closed");
        let lab = lab.clone();
        // Lambda queues an asynchronous invocation before the function starts.
        // The stand-in holds each one for a time spread evenly over one naive
        // poll period (0 to 99 ms, the same for both contacts of a pair), so
        // that the finish is in step with neither side's read schedule.
        let queued = Duration::from_millis((i as u64 / 2) * 37 % QUEUE_SPREAD_MS);
        let work = Duration::from_millis(work_ms);
        let naive = i % 2 == 1;
        tasks.spawn(async move {
            let measured = one(&lab, naive, queued, work).await;
            drop(permit);
            (naive, measured)
        });
        progress.tick(i + 1, runs * 2);
    }
    let (mut ours, mut naive) = (Vec::new(), Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (is_naive, measured) = done.expect("a latency run does not panic");
        if is_naive { &mut naive } else { &mut ours }.push(measured);
    }
    Row {
        work_ms,
        in_flight,
        ours: side(ours),
        naive: side(naive),
    }
}

/// One contact: (latency, read requests of the start call), or `None` when
/// start's answer was not `DONE`.
async fn one(lab: &Lab, naive: bool, queued: Duration, work: Duration) -> Option<(Duration, u32)> {
    let meter = Meter::default();
    let function = if naive { NAIVE_FUNCTION } else { OURS_FUNCTION };
    let contact = lab.seed(5, function, 20, "").await;
    let event = connect_event(&contact);
    let (answer, answered, finished) = if naive {
        let side = lab.naive(&meter);
        let finished = lab.expect(
            &contact,
            Job::NaiveFinisher {
                naive: lab.naive(&Meter::default()),
                queued,
                work,
            },
        );
        let answer = side
            .start(&lab.lambda.client(), contact.as_str(), &event)
            .await
            .expect("the naive start answers");
        let answered = Instant::now();
        (
            answer.get("IntegrationStatus").cloned().unwrap_or_default(),
            answered,
            finished,
        )
    } else {
        let deps = lab.start_deps(lab.store(&meter));
        let finished = lab.expect(
            &contact,
            Job::OursFinisher {
                store: lab.table.store(),
                queued,
                work,
            },
        );
        let answer = integration_start::handle(event, None, &deps).await;
        let answered = Instant::now();
        (lab::answered_status(&answer).to_owned(), answered, finished)
    };
    let committed = finished.await.ok().and_then(|f| f.committed);
    let committed = committed.filter(|_| answer == "DONE")?;
    let reads = meter.usage().reads;
    Some((answered.saturating_duration_since(committed), reads))
}

fn side(measured: Vec<Option<(Duration, u32)>>) -> Side {
    let unseen = measured.iter().filter(|m| m.is_none()).count();
    let mut measured: Vec<(Duration, u32)> = measured.into_iter().flatten().collect();
    let mut latencies: Vec<Duration> = measured.iter().map(|(d, _)| *d).collect();
    latencies.sort();
    measured.sort_by_key(|(_, reads)| *reads);
    Side {
        median_ms: lab::ms(percentile(&latencies, 0.5)),
        p95_ms: lab::ms(percentile(&latencies, 0.95)),
        p99_ms: lab::ms(percentile(&latencies, 0.99)),
        reads_per_call: percentile(&measured, 0.5).1,
        runs: latencies.len(),
        unseen,
    }
}
