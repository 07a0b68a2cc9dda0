//! DynamoDB Local for tests: a client for it, a fresh, uniquely named state
//! table for every test (created from the shared definition, so tests run in
//! parallel without seeing each other), and a DynamoDB that never answers.
//!
//! DynamoDB Local is started by `scripts/test`, which exports
//! `AWS_ENDPOINT_URL_DYNAMODB`; the SDK reads it like any other endpoint variable.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use crate::{
    iam::{gate::Gate, Policies, Role},
    logs, report, RequestCounter,
};
use aws_sdk_dynamodb::{config::Intercept, Client};
use chrono::Utc;
use shared::{table::STATE_TABLE, Clock, Config, ContactId, Store, SystemClock};

use crate::ManualClock;

/// A client for DynamoDB Local. Panics with the way out when it is not running.
pub async fn local_client() -> Client {
    logs::to_suite_log();
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set, so there is no DynamoDB Local to test against: \
             run scripts/test, which starts one, or `source scripts/dynamodb-local.sh && dynamodb_local_start` \
             in your shell before `cargo test`"
        );
    }
    Client::new(&crate::aws::sdk_config().await)
}

/// A fresh state table of its own.
pub struct TestTable {
    pub client: Client,
    pub name: String,
}

/// The IAM gate of each test table, by table name: the gate of a table whose
/// [`TestTable`] is gone still serves the stores made for it ([`as_role`]).
static GATES: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

impl TestTable {
    pub async fn new() -> Self {
        let client = local_client().await;
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        crate::aws::create_table(&client, &name, &STATE_TABLE)
            .await
            .unwrap_or_else(|err| {
                panic!("creating table {name} on DynamoDB Local: {}", report(&err))
            });
        // The table's own gate, holding each role to the template as a stack
        // of this table would (with the template's default allow-list), on the
        // test's own runtime, so that side-by-side tests do not queue on one
        // gate's thread.
        let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("checked above");
        let gate = Gate::start(&upstream, Policies::for_stack(&name, ""))
            .await
            .expect("the IAM gate binds 127.0.0.1");
        GATES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone(), gate.url.clone());
        // Served for as long as the test's runtime runs: the test's stores are
        // used while it runs.
        std::mem::forget(gate);
        Self { client, name }
    }

    /// A store on this table with the real clock.
    pub fn store(&self) -> Store {
        self.store_with(Arc::new(SystemClock))
    }

    /// A store on this table with a manual clock set to now, and the clock.
    pub fn store_with_manual_clock(&self) -> (Store, ManualClock) {
        let clock = ManualClock::new(Utc::now());
        (self.store_with(Arc::new(clock.clone())), clock)
    }

    pub fn store_with(&self, clock: Arc<dyn Clock>) -> Store {
        Store::new(self.client.clone(), &self.name, clock)
    }

    /// A store on this table whose requests are counted, by operation.
    pub fn counted_store(&self, clock: Arc<dyn Clock>) -> (Store, RequestCounter) {
        let counter = RequestCounter::default();
        let config = self
            .client
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .build();
        (
            Store::new(Client::from_conf(config), &self.name, clock),
            counter,
        )
    }

    /// A store on this table whose client runs `interceptor` on every request.
    pub fn store_intercepted(&self, interceptor: impl Intercept + 'static) -> Store {
        let config = self
            .client
            .config()
            .to_builder()
            .interceptor(interceptor)
            .build();
        Store::new(Client::from_conf(config), &self.name, Arc::new(SystemClock))
    }

    /// The contact's status item as DynamoDB holds it, every attribute; panics
    /// when there is none.
    pub async fn raw_status(
        &self,
        contact_id: &ContactId,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        let status =
            aws_sdk_dynamodb::types::AttributeValue::S(shared::store::INTEGRATION_STATUS.into());
        self.raw_items(contact_id)
            .await
            .into_iter()
            .find(|item| item.get("What") == Some(&status))
            .expect("a status item")
    }

    /// Every item of a contact as DynamoDB holds it, for asserting on raw attributes.
    pub async fn raw_items(
        &self,
        contact_id: &ContactId,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        crate::aws::contact_query(&self.client, &self.name, contact_id.as_str())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("query raw items")
    }
}

/// `store` (a test table's, its interceptors kept) as a function of `role`
/// has it: through the table's IAM gate, with the role's key.
pub fn as_role(store: &Store, role: Role) -> Store {
    let gate = GATES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(store.table())
        .cloned()
        .unwrap_or_else(|| panic!("{} is not a test table", store.table()));
    through(store, &gate, role)
}

/// `store` through the gate at `gate_url`, with `role`'s key.
pub fn through(store: &Store, gate_url: &str, role: Role) -> Store {
    let config = store
        .client_config()
        .to_builder()
        .endpoint_url(gate_url)
        .credentials_provider(role.credentials())
        .build();
    store.with_client(Client::from_conf(config))
}

/// A DynamoDB endpoint that accepts connections and never answers: a hung
/// DynamoDB. The store on it has the functions' default timeouts.
pub struct SilentDynamoDb {
    pub store: Store,
    server: tokio::task::JoinHandle<()>,
}

impl SilentDynamoDb {
    pub async fn start() -> Self {
        logs::to_suite_log();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let defaults = Config::from_lookup(|name| (name == "STATE_TABLE").then(|| "silent".into()))
            .expect("defaults apply");
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .endpoint_url(&url)
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "tests",
            ))
            .timeout_config(shared::store::timeout_config(&defaults))
            .build();
        // A table of its own name, whose "gate" is the silence itself: a store
        // of any role on it hangs alike.
        let table = format!("silent-{}", uuid::Uuid::new_v4().simple());
        GATES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(table.clone(), url.clone());
        let store = Store::new(Client::from_conf(config), table, Arc::new(SystemClock));
        Self { store, server }
    }
}

impl Drop for SilentDynamoDb {
    fn drop(&mut self) {
        self.server.abort();
    }
}
