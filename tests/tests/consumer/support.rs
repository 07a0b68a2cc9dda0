//! A consumer on a fresh table with its metrics captured, fixture helpers, and
//! runs opened as start opens them.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use kit::ManualClock;
use kit::{
    iam::Role,
    metrics::{check_emf, CaptureSink},
    TestTable,
};
use serde_json::Value;
use shared::{store::INTEGRATION_STATUS, ContactId, RunId, RunStart, Store};
use stream_consumer::{BatchReport, Consumer, ConsumerConfig, Outcome};

/// A stream event saved under `tests/fixtures/streams/`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/streams/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

pub fn records(event: &Value) -> Vec<Value> {
    event["Records"].as_array().expect("a stream event").clone()
}

pub const ECHO: &str = "dev-rules-integrationEcho";

/// The consumer on its own table, writing metrics into a buffer.
pub struct Harness {
    pub table: TestTable,
    pub store: Store,
    pub sink: Arc<CaptureSink>,
    pub consumer: Arc<Consumer>,
}

impl Harness {
    pub async fn new() -> Self {
        let table = TestTable::new().await;
        let store = table.store();
        Self::with_store(table, store)
    }

    /// The consumer on a store with a manual clock, and the clock.
    pub async fn with_manual_clock() -> (Self, ManualClock) {
        let table = TestTable::new().await;
        let (store, clock) = table.store_with_manual_clock();
        (Self::with_store(table, store), clock)
    }

    pub fn with_store(table: TestTable, store: Store) -> Self {
        let (consumer, sink) = consumer_on(store.clone(), ConsumerConfig::default());
        Self {
            table,
            store,
            sink,
            consumer: Arc::new(consumer),
        }
    }

    /// Puts the status items as the records' new images show them: the table as
    /// it was when the records were written.
    pub async fn seed(&self, event: &Value) {
        for record in records(event) {
            let image = &record["dynamodb"]["NewImage"];
            if image["What"]["S"].as_str() != Some(INTEGRATION_STATUS) {
                continue;
            }
            // The fixtures' Expiry has passed: left as is, DynamoDB Local's TTL would
            // delete the seeded item at a moment of its choosing during the test.
            let mut image = image.clone();
            let expiry = chrono::Utc::now().timestamp() + shared::store::STATE_TTL.as_secs() as i64;
            image["Expiry"] = serde_json::json!({ "N": expiry.to_string() });
            let item: serde_dynamo::Item =
                serde_json::from_value(image).expect("fixture images are DynamoDB JSON");
            self.table
                .client
                .put_item()
                .table_name(&self.table.name)
                .set_item(Some(HashMap::<String, AttributeValue>::from(item)))
                .send()
                .await
                .expect("seeding a status item");
        }
    }

    pub async fn deliver(&self, event: &Value) -> BatchReport {
        self.consumer.stream_batch(&records(event)).await
    }

    /// Seeds the table as `event`'s records left it, then delivers them.
    pub async fn seed_and_deliver(&self, event: &Value) -> BatchReport {
        self.seed(event).await;
        self.deliver(event).await
    }

    /// Every document written so far, each checked to be valid EMF.
    pub fn documents(&self) -> Vec<Value> {
        let documents = self.sink.documents();
        for document in &documents {
            check_emf(document).unwrap_or_else(|err| panic!("invalid EMF ({err}): {document}"));
        }
        documents
    }

    /// The documents carrying `metric` for run `run`.
    pub fn metric_for_run(&self, metric: &str, run: &str) -> Vec<Value> {
        self.documents()
            .into_iter()
            .filter(|d| d.get(metric).is_some() && d["RunId"].as_str() == Some(run))
            .collect()
    }

    /// The documents carrying `metric`.
    pub fn metric(&self, metric: &str) -> Vec<Value> {
        self.documents()
            .into_iter()
            .filter(|d| d.get(metric).is_some())
            .collect()
    }

    /// The status item as stored, every attribute.
    pub async fn raw_status(&self, contact: &str) -> HashMap<String, AttributeValue> {
        let contact = ContactId::parse(contact).expect("a valid contact id");
        self.table.raw_status(&contact).await
    }
}

/// A consumer on `store` with `config`, writing metrics into a buffer of its own.
/// The consumer on `store` (a test table's), its requests as the consumer's
/// role in the template may make them.
pub fn consumer_on(store: Store, config: ConsumerConfig) -> (Consumer, Arc<CaptureSink>) {
    consumer_off_the_gate(kit::table::as_role(&store, Role::Consumer), config)
}

/// The consumer on `store` as it is: for a DynamoDB no gate stands before.
pub fn consumer_off_the_gate(store: Store, config: ConsumerConfig) -> (Consumer, Arc<CaptureSink>) {
    let sink = Arc::new(CaptureSink::default());
    (Consumer::new(store, config, sink.clone()), sink)
}

/// Opens a run of `function` for `contact`, as start does.
pub async fn open_run(store: &Store, contact: &ContactId, function: &str, timeout_s: u64) -> RunId {
    let start = RunStart {
        function_name: function.into(),
        timeout: Duration::from_secs(timeout_s),
    };
    store.start(contact, start).await.unwrap().id
}

pub fn outcomes(report: &BatchReport) -> Vec<Outcome> {
    report.records.iter().map(|r| r.outcome.clone()).collect()
}

/// The run id and contact id of a fixture's first record.
pub fn ids(event: &Value) -> (String, String) {
    let change = &event["Records"][0]["dynamodb"];
    let run = change["NewImage"]["RunId"]["S"]
        .as_str()
        .or(change["OldImage"]["RunId"]["S"].as_str())
        .expect("a run id");
    let contact = change["Keys"]["ContactId"]["S"]
        .as_str()
        .expect("a contact");
    (run.to_owned(), contact.to_owned())
}
