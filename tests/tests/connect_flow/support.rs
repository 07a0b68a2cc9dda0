//! The Connect events, the state an integration rule leaves, start's and
//! check-timeout's dependencies, and the integration function played on the
//! store.

use kit::iam::Role;
use std::{future::Future, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use kit::ManualClock;
use kit::{lambda::fake::FakeLambda, new_contact, TestTable};
use serde_json::{json, Value};
use shared::{
    connect::Instance, waiting::WaitConfig, ContactId, ContactState, ItemChange, Run, RunId,
    RunStart, StatusItem, Store, Transition,
};

pub const TRANSFERRED: &str = include_str!("../../fixtures/connect/transferred-contact-event.json");
pub const KEEP_WARM: &str = include_str!("../../fixtures/connect/keep-warm.json");
pub const OWN_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:dev-rules-engine-connectintegrationstart";
pub const ECHO: &str = "dev-rules-engine-integrationEcho";

/// The fixture event, for `contact`.
pub fn event_for(contact: &ContactId) -> Value {
    const EVENT: &str = include_str!("../../fixtures/connect/contact-flow-event.json");
    let mut event: Value = serde_json::from_str(EVENT).unwrap();
    event["Details"]["ContactData"]["ContactId"] = json!(contact.as_str());
    event["Details"]["ContactData"]["InitialContactId"] = json!(contact.as_str());
    event
}

/// Seeds the contact's state as the Rules Engine does when an integration rule fires.
pub async fn seed_rule(store: &Store, contact: &ContactId, rule: &[(&str, Value)]) {
    let mut state = ContactState::default();
    // Keyed by item, so a key of `rule` replaces the default of the same name.
    let mut changes = std::collections::BTreeMap::new();
    for (key, value) in [
        ("CurrentRuleSet", json!("Main")),
        ("CurrentRule", json!("Look up account")),
        ("CurrentRuleType", json!("Integration")),
        (
            shared::keys::RULE_START,
            json!(shared::time::format_rules_engine(chrono::Utc::now())),
        ),
        ("CurrentRule_functionName", json!("integrationEcho")),
        ("CurrentRule_functionOutputKey", json!("EchoResult")),
    ]
    .into_iter()
    .chain(rule.iter().cloned())
    {
        let change = state.set(key, value).unwrap();
        changes.insert(change.what.clone(), change);
    }
    let changes: Vec<ItemChange> = changes.into_values().collect();
    store.write(contact, &changes).await.unwrap();
}

pub fn echo_rule(timeout: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("CurrentRule_functionArn", json!(ECHO)),
        ("CurrentRule_functionPayload", json!(r#"{"SleepTime": 0}"#)),
        ("CurrentRule_functionTimeout", json!(timeout)),
    ]
}

pub fn start_deps(store: Store, lambda: &FakeLambda) -> integration_start::Deps {
    let vars = [
        ("STATE_TABLE", store.table().to_owned()),
        ("ALLOWED_FUNCTIONS", "dev-rules-engine-integration*".into()),
    ];
    let config = integration_start::StartConfig::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    integration_start::Deps {
        // start's requests as its role in the template may make them.
        store: kit::table::as_role(&store, Role::Start),
        lambda: lambda.client(),
        config,
        instance: Instance::new(),
    }
}

pub fn check_deps(store: Store) -> check_timeout::Deps {
    check_timeout::Deps {
        store: kit::table::as_role(&store, Role::CheckTimeout),
        wait: WaitConfig::default(),
        instance: Instance::new(),
    }
}

pub async fn start(deps: &integration_start::Deps, contact: &ContactId) -> Value {
    integration_start::handle(event_for(contact), Some(OWN_ARN), deps).await
}

/// check-timeout's answer for `contact`.
pub async fn check(store: &Store, contact: &ContactId) -> Value {
    check_timeout::handle(event_for(contact), &check_deps(store.clone())).await
}

/// Opens a run of the echo function as start does.
pub async fn open_run(store: &Store, contact: &ContactId, timeout: Duration) -> Run {
    let start = RunStart {
        function_name: ECHO.into(),
        timeout,
    };
    store.start(contact, start).await.unwrap()
}

/// Ends the run `DONE` with `output` in `EchoResult`, as the function does.
pub async fn finish(store: &Store, contact: &ContactId, run: &RunId, output: &str) -> Transition {
    let output = [ItemChange::put("EchoResult", output)];
    store.done(contact, Some(run), &output).await.unwrap()
}

/// The contact's status item, which must be there.
pub async fn stored_status(store: &Store, contact: &ContactId) -> StatusItem {
    store.status(contact).await.unwrap().unwrap()
}

/// Replaces the status item with a bare value, as a legacy start writes it.
pub async fn put_bare_status(table: &TestTable, contact: &ContactId, status: &str) {
    let text = |text: &str| AttributeValue::S(text.to_owned());
    table
        .client
        .put_item()
        .table_name(&table.name)
        .item("ContactId", text(contact.as_str()))
        .item("What", text("IntegrationStatus"))
        .item("Value", text(status))
        .send()
        .await
        .unwrap();
}

/// Plays the integration function: after `delay`, RUN, then DONE with
/// `EchoResult` (or ERROR with `cause`), for the run it was invoked for.
pub fn function_finishing(
    store: Store,
    delay: Duration,
    cause: Option<&'static str>,
) -> impl Fn(kit::lambda::fake::Invocation) + Send + Sync {
    move |invocation| {
        let store = store.clone();
        tokio::spawn(async move {
            let contact =
                ContactId::parse(invocation.payload["ContactId"].as_str().unwrap()).unwrap();
            let run = RunId::parse(invocation.payload["RunId"].as_str().unwrap()).unwrap();
            tokio::time::sleep(delay).await;
            store.run(&contact, Some(&run)).await.unwrap();
            match cause {
                None => finish(&store, &contact, &run, "hello").await,
                Some(cause) => store
                    .error(
                        &contact,
                        Some(&run),
                        cause,
                        &[ItemChange::delete("EchoResult")],
                    )
                    .await
                    .unwrap(),
            };
        });
    }
}

/// An integration function that takes the invocation and never finishes.
pub fn idle(_: Store) -> impl Future<Output = FakeLambda> {
    FakeLambda::accepting(|_| {})
}

/// A fresh table, a contact whose integration rule has fired, and start's
/// dependencies on a Lambda stand-in.
pub struct Fired {
    pub store: Store,
    pub contact: ContactId,
    pub lambda: FakeLambda,
    pub deps: integration_start::Deps,
}

impl Fired {
    /// A new contact whose rule is `rule` over the defaults; `lambda` makes
    /// the stand-in for the integration function, given the store.
    pub async fn new<F>(rule: &[(&str, Value)], lambda: impl FnOnce(Store) -> F) -> Self
    where
        F: Future<Output = FakeLambda>,
    {
        let store = TestTable::new().await.store();
        Self::on(store, new_contact(), rule, lambda).await
    }

    /// The same, with the store and the contact given.
    pub async fn on<F>(
        store: Store,
        contact: ContactId,
        rule: &[(&str, Value)],
        lambda: impl FnOnce(Store) -> F,
    ) -> Self
    where
        F: Future<Output = FakeLambda>,
    {
        seed_rule(&store, &contact, rule).await;
        let lambda = lambda(store.clone()).await;
        let deps = start_deps(store.clone(), &lambda);
        Self {
            store,
            contact,
            lambda,
            deps,
        }
    }

    /// start's answer for the contact.
    pub async fn start(&self) -> Value {
        start(&self.deps, &self.contact).await
    }

    pub async fn status(&self) -> StatusItem {
        stored_status(&self.store, &self.contact).await
    }
}

/// A fresh table with a store on a manual clock, and a contact whose run start
/// opened.
pub async fn opened(timeout: Duration) -> (Store, ManualClock, ContactId, Run) {
    let (store, clock) = TestTable::new().await.store_with_manual_clock();
    let contact = new_contact();
    let run = open_run(&store, &contact, timeout).await;
    (store, clock, contact, run)
}
