//! Helpers for tests that run against DynamoDB Local: a client for the local
//! endpoint, and a fresh, uniquely named state table for every test, created from
//! the shared definition, so tests run in parallel without seeing each other.
//!
//! DynamoDB Local is started by `scripts/test`, which exports
//! `AWS_ENDPOINT_URL_DYNAMODB`; the SDK reads it like any other endpoint variable.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use chrono::Utc;
use shared::{table::STATE_TABLE, Clock, ContactId, ManualClock, Store, SystemClock};

/// A client for DynamoDB Local. Panics with the way out when it is not running.
pub async fn local_client() -> Client {
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set, so there is no DynamoDB Local to test against: \
             run scripts/test, which starts one, or `source scripts/dynamodb-local.sh && dynamodb_local_start` \
             in your shell before `cargo test`"
        );
    }
    // DynamoDB Local takes any credentials; the SDK only needs some to sign with.
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "tests");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await;
    Client::new(&sdk)
}

/// A fresh state table of its own.
pub struct TestTable {
    pub client: Client,
    pub name: String,
}

impl TestTable {
    pub async fn new() -> Self {
        let client = local_client().await;
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        Store::create_table(&client, &name, &STATE_TABLE)
            .await
            .unwrap_or_else(|err| {
                panic!("creating table {name} on DynamoDB Local: {}", report(&err))
            });
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

    /// Every item of a contact as DynamoDB holds it, for asserting on raw attributes.
    pub async fn raw_items(
        &self,
        contact_id: &ContactId,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.client
            .query()
            .table_name(&self.name)
            .key_condition_expression("ContactId = :c")
            .expression_attribute_values(
                ":c",
                aws_sdk_dynamodb::types::AttributeValue::S(contact_id.to_string()),
            )
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("query raw items")
    }
}

/// A fresh contact id, unique across tests.
pub fn new_contact() -> ContactId {
    ContactId::parse(uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid contact id")
}

/// An error with its whole chain of sources, for panic messages.
pub fn report(err: &dyn std::error::Error) -> String {
    shared::telemetry::error_chain(err)
}
