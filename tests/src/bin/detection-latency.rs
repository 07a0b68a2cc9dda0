//! Measures start's detection latency on DynamoDB Local: from the moment the
//! integration function's DONE transaction has committed to the moment start
//! answers Connect. Prints the median, p95 and p99 per integration duration.
//!
//! Usage (DynamoDB Local running, `AWS_ENDPOINT_URL_DYNAMODB` set):
//! `cargo run --release -p integration-tests --bin detection-latency -- [RUNS] [DELAY_MS ...]`

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use integration_tests::{lambda::FakeLambda, new_contact, TestTable};
use serde_json::json;
use shared::{connect::Instance, ContactId, ContactState, ItemChange, RunId};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args
        .next()
        .map_or(200, |n| n.parse().expect("RUNS is a whole number"));
    let delays: Vec<u64> = args
        .map(|d| d.parse().expect("DELAY_MS is a whole number"))
        .collect();
    let delays = if delays.is_empty() {
        vec![0, 50, 300, 1_500]
    } else {
        delays
    };

    let table = TestTable::new().await;
    let store = table.store();
    println!(
        "detection latency: DONE committed → start answered, {runs} runs per delay (each delay plus up to a fifth of it, at most 100 ms, spread over the runs), DynamoDB Local"
    );
    println!("| integration takes | median | p95 | p99 | status reads per call (median) |");
    println!("| --- | --- | --- | --- | --- |");
    for delay in delays {
        let committed: Arc<Mutex<Option<Instant>>> = Arc::default();
        // Each run finishes a little later than the last (up to a fifth of the
        // delay, at most 100 ms: the longest pause between status reads), so
        // finishing times do not lock into step with the read schedule.
        let jitter = Arc::new(AtomicU64::new(0));
        let (finisher, mark, spread) = (store.clone(), committed.clone(), jitter.clone());
        let lambda = FakeLambda::accepting(move |invocation| {
            let (store, mark) = (finisher.clone(), mark.clone());
            let delay = delay + spread.load(Ordering::Relaxed);
            tokio::spawn(async move {
                let contact =
                    ContactId::parse(invocation.payload["ContactId"].as_str().unwrap()).unwrap();
                let run = RunId::parse(invocation.payload["RunId"].as_str().unwrap()).unwrap();
                store.run(&contact, Some(&run)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(delay)).await;
                store
                    .done(&contact, Some(&run), &[ItemChange::put("Result", "ok")])
                    .await
                    .unwrap();
                *mark.lock().unwrap() = Some(Instant::now());
            });
        })
        .await;
        let config = integration_start::StartConfig::from_lookup(|name| match name {
            "STATE_TABLE" => Some(table.name.clone()),
            "ALLOWED_FUNCTIONS" => Some("bench-integration*".into()),
            _ => None,
        })
        .unwrap();
        let (counted, counter) = table.counted_store(Arc::new(shared::SystemClock));
        let deps = integration_start::Deps {
            store: counted,
            lambda: lambda.client(),
            config,
            instance: Instance::new(),
        };
        let (mut latencies, mut reads) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for i in 0..runs as u64 {
            let span = (delay / 5).min(100);
            jitter.store(if span == 0 { 0 } else { i * 37 % span }, Ordering::Relaxed);
            let contact = new_contact();
            seed(&store, &contact).await;
            *committed.lock().unwrap() = None;
            counter.reset();
            let event = json!({"Name": "ContactFlowEvent", "Details": {"ContactData": {"InitialContactId": contact.as_str()}, "Parameters": {}}});
            let answer = integration_start::handle(event, None, &deps).await;
            let answered = Instant::now();
            assert_eq!(answer["IntegrationStatus"], "DONE", "{answer}");
            let done = committed
                .lock()
                .unwrap()
                .expect("DONE committed before the answer");
            latencies.push(answered.saturating_duration_since(done));
            reads.push(counter.count("GetItem"));
        }
        latencies.sort();
        reads.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {delay} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(at(0.99)),
            reads[reads.len() / 2]
        );
    }
}

async fn seed(store: &shared::Store, contact: &ContactId) {
    let mut state = ContactState::default();
    let changes: Vec<_> = [
        ("CurrentRule_functionArn", "bench-integrationEcho"),
        ("CurrentRule_functionOutputKey", "Result"),
        ("CurrentRule_functionTimeout", "20"),
    ]
    .into_iter()
    .map(|(k, v)| state.set(k, json!(v)).unwrap())
    .collect();
    store.write(contact, &changes).await.unwrap();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}
