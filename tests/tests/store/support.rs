//! A fresh table and contact, runs opened as start opens them, the outcomes of
//! a transition, and items put past the store's checks.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use kit::{new_contact, TestTable};
use shared::{
    ContactId, ContactState, IntegrationStatus, ItemChange, Refusal, Run, RunStart, Store,
    Transition,
};

/// A fresh table, a store on it with the real clock, and a new contact.
pub async fn fresh() -> (TestTable, Store, ContactId) {
    let table = TestTable::new().await;
    let store = table.store();
    (table, store, new_contact())
}

pub fn echo_start() -> RunStart {
    RunStart {
        function_name: "dev-rules-integrationEcho".into(),
        timeout: Duration::from_secs(10),
    }
}

/// Opens a run of the echo function, as start does.
pub async fn open_run(store: &Store, contact: &ContactId) -> Run {
    store.start(contact, echo_start()).await.unwrap()
}

/// A fresh table and contact, and a run of the echo function opened for it.
pub async fn with_open_run() -> (Store, ContactId, Run) {
    let (_, store, contact) = fresh().await;
    let run = open_run(&store, &contact).await;
    (store, contact, run)
}

/// Opens a run and marks it `RUN`, as the function does when it begins.
pub async fn running(store: &Store, contact: &ContactId) -> Run {
    let run = open_run(store, contact).await;
    store.run(contact, Some(&run.id)).await.unwrap();
    run
}

/// Ends `run` `DONE` with `output` in `EchoResult`.
pub async fn done_with(store: &Store, contact: &ContactId, run: &Run, output: &str) -> Transition {
    let output = [ItemChange::put("EchoResult", output)];
    store.done(contact, Some(&run.id), &output).await.unwrap()
}

/// The status of the contact's status item, which must be there.
pub async fn status_of(store: &Store, contact: &ContactId) -> IntegrationStatus {
    store.status(contact).await.unwrap().unwrap().status
}

pub async fn state_of(store: &Store, contact: &ContactId) -> ContactState {
    store.load_state(contact).await.unwrap()
}

pub fn refused(outcome: Transition) -> Refusal {
    match outcome {
        Transition::Refused(refusal) => refusal,
        Transition::Applied => panic!("expected the transition to be refused, it was applied"),
    }
}

/// The refusal of a transition on a run that already ended as `status`.
pub fn finished_as(status: IntegrationStatus) -> Refusal {
    Refusal::AlreadyFinished { status }
}

pub fn clock_ms(clock: &kit::ManualClock) -> i64 {
    use shared::Clock;
    clock.now().timestamp_millis()
}

pub async fn put_raw(table: &TestTable, contact: &ContactId, what: &str, value: &str) {
    put_raw_with(table, contact, what, value, []).await;
}

/// Puts an item as DynamoDB takes it, past the store's checks; `extra`
/// attributes are set last, so they may replace the others.
pub async fn put_raw_with<const N: usize>(
    table: &TestTable,
    contact: &ContactId,
    what: &str,
    value: &str,
    extra: [(&str, AttributeValue); N],
) {
    let named = [
        ("What", AttributeValue::S(what.into())),
        ("Value", AttributeValue::S(value.into())),
    ];
    put_attributes(table, contact, named.into_iter().chain(extra)).await;
}

/// Puts an item of the contact with exactly `attributes` besides its
/// `ContactId`, past the store's checks.
pub async fn put_attributes<'a>(
    table: &TestTable,
    contact: &ContactId,
    attributes: impl IntoIterator<Item = (&'a str, AttributeValue)>,
) {
    let mut put = table
        .client
        .put_item()
        .table_name(&table.name)
        .item("ContactId", AttributeValue::S(contact.to_string()));
    for (name, value) in attributes {
        put = put.item(name, value);
    }
    put.send().await.unwrap();
}
