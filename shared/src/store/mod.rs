//! Where the functions talk to DynamoDB: reading a contact's state, writing
//! keys, the run transitions ([`transitions`]), and the stream consumer's
//! writes: its stamps and marks ([`measure`]), its repairs of legacy puts
//! ([`repair`]) and its sweep's query ([`pending`]). Each is a typed method;
//! the client, the raw reads and the update expressions stay in here.
//!
//! Every guarded update is built by one builder ([`update`]); the status item
//! has one shape, [`StatusItem`], read and written in [`items`]; the patient
//! retry of a call that failed for a passing reason is in [`retry`].

use std::{collections::HashMap, sync::Arc};

use aws_sdk_dynamodb::{
    error::SdkError,
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue},
    Client,
};
use chrono::{DateTime, Utc};
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use crate::{
    state::{self, ContactState, ItemChange},
    table, Clock, Config, ContactId, StatusItem,
};
use items::{activation_mark, item_what, status_item, AnyItem};

/// Points a request builder at a contact's status item: GetItem's,
/// UpdateItem's and a transaction's Update builders have these setters, but
/// no trait in common. With an [`update::Update`], also sets its expressions.
macro_rules! at_status_item {
    ($builder:expr, $store:expr, $contact_id:expr) => {
        $builder.table_name(&$store.table).set_key(Some(Store::key(
            $contact_id,
            $crate::keys::INTEGRATION_STATUS,
        )))
    };
    ($builder:expr, $store:expr, $contact_id:expr, $conditional:expr) => {{
        let $crate::store::update::Expressions {
            update,
            condition,
            names,
            values,
        } = $conditional.expressions();
        at_status_item!($builder, $store, $contact_id)
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
    }};
}

mod items;
pub mod limits;
mod measure;
mod pending;
mod repair;
mod retry;
mod transitions;
mod update;

pub use measure::{Mark, Stamp, StampRequest};
pub use pending::OverdueRun;
pub use repair::{ContactNow, Restore, Undo};
pub use retry::{patiently, Patience};

/// An item as DynamoDB holds it.
pub type Item = HashMap<String, AttributeValue>;

// The names and limits the store writes by, where its callers have long found them.
pub use crate::keys::{
    INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START, INTEGRATION_STATUS, RULE_START,
    SWEEP, TIMEOUT_CAUSE,
};
pub use crate::limits::STATE_TTL;

/// DynamoDB's limit on the items of one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} failed")]
    Request {
        operation: &'static str,
        // Boxed: the SDK's error is large, and every Result of this module carries it.
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    #[error("state item {what:?} of contact {contact_id} is malformed: {reason}")]
    Malformed {
        contact_id: ContactId,
        what: String,
        reason: String,
    },
    #[error("{count} state items changed at once; one transaction holds at most {MAX_TRANSACTION_ITEMS}")]
    TooManyChanges { count: usize },
    #[error("state key {what:?} is written by the run transitions only")]
    ReservedKey { what: String },
    #[error("the transaction kept colliding with concurrent writes to contact {contact_id}")]
    Conflict { contact_id: ContactId },
    #[error("the rule activation of contact {contact_id} has a run already, or changed while one was being opened")]
    ActivationTaken { contact_id: ContactId },
}

impl StoreError {
    /// Whether the same call may succeed later: DynamoDB unreachable, throttled or
    /// busy, as opposed to bad data or a bad request.
    pub fn is_retryable(&self) -> bool {
        match self {
            // A request DynamoDB refused as invalid will be refused again, and
            // one the role may not make until someone changes the role: an hour
            // of Lambda's retries would hold the shard for nothing.
            StoreError::Request { .. } if self.is_refused_as_invalid() || self.is_denied() => false,
            StoreError::Request { source, .. } => !matches!(
                **source,
                aws_sdk_dynamodb::Error::ResourceNotFoundException(_)
                    | aws_sdk_dynamodb::Error::ItemCollectionSizeLimitExceededException(_)
            ),
            StoreError::Conflict { .. } => true,
            StoreError::Malformed { .. }
            | StoreError::ActivationTaken { .. }
            | StoreError::TooManyChanges { .. }
            | StoreError::ReservedKey { .. } => false,
        }
    }
}

/// Turns the SDK's error for `operation` into a [`StoreError`], for `map_err`.
pub(crate) fn request_error<E, R>(
    operation: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> StoreError
where
    aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
{
    move |err| StoreError::Request {
        operation,
        source: Box::new(err.into()),
    }
}

/// Builds a DynamoDB client from the environment with the configured timeouts, so
/// no call can outlast them. The endpoint comes from the SDK's own variables
/// (`AWS_ENDPOINT_URL_DYNAMODB` on the local stack).
pub async fn dynamodb_client(config: &Config) -> Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeout_config(config))
        .load()
        .await;
    Client::new(&sdk)
}

/// The configured connect, attempt and operation timeouts, for building clients.
pub fn timeout_config(config: &Config) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(config.dynamodb_connect_timeout)
        .operation_attempt_timeout(config.dynamodb_attempt_timeout)
        .operation_timeout(config.dynamodb_operation_timeout)
        .build()
}

/// One contact-state table, with the clock that stamps its writes.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    fn expiry(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp() + STATE_TTL.as_secs() as i64
    }

    /// The key of a contact's item `what`.
    fn key(contact_id: &ContactId, what: &str) -> Item {
        HashMap::from([
            (
                table::CONTACT_ID.to_owned(),
                AttributeValue::S(contact_id.to_string()),
            ),
            (table::WHAT.to_owned(), AttributeValue::S(what.to_owned())),
        ])
    }

    /// Reads a contact's whole state: a consistent Query of its items, every page.
    pub async fn load_state(&self, contact_id: &ContactId) -> Result<ContactState, StoreError> {
        let mut values = std::collections::BTreeMap::new();
        let mut status = None;
        let mut activation_run = None;
        for item in self.contact_items(contact_id).await? {
            let any: AnyItem = from_item(item.clone()).map_err(|err| StoreError::Malformed {
                contact_id: contact_id.clone(),
                what: item_what(&item),
                reason: err.to_string(),
            })?;
            let Some(text) = any.value else {
                return Err(StoreError::Malformed {
                    contact_id: contact_id.clone(),
                    what: any.what,
                    reason: "it has no Value".into(),
                });
            };
            if any.what == INTEGRATION_STATUS {
                status = Some(status_item(contact_id, item)?);
            } else if any.what == RULE_START {
                activation_run = activation_mark(&item);
            }
            values.insert(any.what, state::parse_stored(&text));
        }
        Ok(ContactState::new(values, status).with_activation_run(activation_run))
    }

    /// Every item of a contact as stored: a consistent Query, every page.
    async fn contact_items(&self, contact_id: &ContactId) -> Result<Vec<Item>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#c = :c")
            .expression_attribute_names("#c", table::CONTACT_ID)
            .expression_attribute_values(":c", AttributeValue::S(contact_id.to_string()))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            items.extend(
                page.map_err(request_error("Query"))?
                    .items
                    .unwrap_or_default(),
            );
        }
        Ok(items)
    }

    /// Reads only the status item, consistently: what a poller needs.
    pub async fn status(&self, contact_id: &ContactId) -> Result<Option<StatusItem>, StoreError> {
        self.raw_status(contact_id)
            .await?
            .map(|item| status_item(contact_id, item))
            .transpose()
    }

    /// Writes state changes (from [`ContactState::set`]) in one transaction.
    pub async fn write(
        &self,
        contact_id: &ContactId,
        changes: &[ItemChange],
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let items = changes
            .iter()
            .map(|change| self.change_item(contact_id, change, now))
            .collect::<Result<_, _>>()?;
        self.transact(contact_id, items)
            .await?
            .map_err(|_| StoreError::Conflict {
                contact_id: contact_id.clone(),
            })
    }

    /// The status item as stored, every attribute, read consistently.
    async fn raw_status(&self, contact_id: &ContactId) -> Result<Option<Item>, StoreError> {
        let output = at_status_item!(self.client.get_item(), self, contact_id)
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error("GetItem"))?;
        Ok(output.item)
    }

    /// One conditional UpdateItem on the status item, for the stream
    /// consumer's stamps and marks; `false` when the condition failed.
    async fn update_status(
        &self,
        contact_id: &ContactId,
        update: update::Update,
    ) -> Result<bool, StoreError> {
        let builder = self.client.update_item();
        let result = at_status_item!(builder, self, contact_id, update)
            .return_values(ReturnValue::None)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(request_error("UpdateItem")(err)),
            },
        }
    }
}

/// Test support, compiled only for the test kit (the `test-support`
/// feature, which `kit` turns on): no function's build has it.
#[cfg(feature = "test-support")]
impl Store {
    /// The client's configuration, for a client of the test's own (another
    /// endpoint, a role's credentials).
    pub fn client_config(&self) -> &aws_sdk_dynamodb::Config {
        self.client.config()
    }

    /// The same table and clock through `client`. A client's pooled
    /// connections belong to the runtime that opened them, so a store used
    /// from another runtime needs a client of its own.
    pub fn with_client(&self, client: Client) -> Self {
        Self {
            client,
            ..self.clone()
        }
    }
}
