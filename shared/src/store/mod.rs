//! Where the functions talk to DynamoDB: reading a contact's state, writing
//! keys, and the run transitions, each one conditional write. The stream
//! consumer's own attributes (its stamp) go through [`Store::update_status`],
//! and its sweep queries the pending-runs index through [`Store::client`].
//!
//! Items are typed records converted with `serde_dynamo` ([`items`]); attribute
//! maps are built by hand only for key and expression values. The run
//! transitions are in [`transitions`], the patient retry of a call that failed
//! for a passing reason in [`retry`].

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
    table, Clock, Config, ContactId, StatusRecord,
};
use items::{activation_mark, item_what, status_record, AnyItem};

/// Points a request builder at a contact's status item: GetItem's,
/// UpdateItem's and a transaction's Update builders have these setters, but
/// no trait in common.
/// With a [`Conditional`], also sets its update and condition.
macro_rules! at_status_item {
    ($builder:expr, $store:expr, $contact_id:expr) => {
        $builder
            .table_name(&$store.table)
            .set_key(Some(Store::key($contact_id, INTEGRATION_STATUS)))
    };
    ($builder:expr, $store:expr, $contact_id:expr, $conditional:expr) => {{
        let Conditional {
            update,
            condition,
            names,
            values,
        } = $conditional;
        at_status_item!($builder, $store, $contact_id)
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
    }};
}

mod items;
pub mod limits;
mod repair;
mod retry;
mod transitions;

pub use repair::Repair;
pub use retry::{patiently, Patience};

/// An item as DynamoDB holds it.
pub type Item = HashMap<String, AttributeValue>;

/// An update of the status item and the condition it is made on, with the
/// attribute names and values both use.
#[derive(Debug, Clone, Default)]
pub struct Conditional {
    pub update: String,
    pub condition: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

// The names and limits the store writes by, where its callers have long found them.
pub use crate::keys::{
    INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START, INTEGRATION_STATUS, RULE_START,
    SWEEP, TIMED_OUT_BY, TIMEOUT_CAUSE,
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
pub fn request_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> StoreError
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

    /// The client, for the queries of the one function that needs its own
    /// (the stream consumer's sweep of the pending-runs index).
    pub fn client(&self) -> &Client {
        &self.client
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
        let mut values = std::collections::BTreeMap::new();
        let mut status = None;
        let mut activation_run = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(request_error("Query"))?;
            for item in page.items.unwrap_or_default() {
                let any: AnyItem =
                    from_item(item.clone()).map_err(|err| StoreError::Malformed {
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
                    status = Some(status_record(contact_id, item)?);
                } else if any.what == RULE_START {
                    activation_run = activation_mark(&item);
                }
                values.insert(any.what, state::parse_stored(&text));
            }
        }
        Ok(ContactState::new(values, status).with_activation_run(activation_run))
    }

    /// Reads only the status item, consistently: what a poller needs.
    pub async fn status(&self, contact_id: &ContactId) -> Result<Option<StatusRecord>, StoreError> {
        self.raw_status(contact_id)
            .await?
            .map(|item| status_record(contact_id, item))
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
    pub async fn raw_status(&self, contact_id: &ContactId) -> Result<Option<Item>, StoreError> {
        let output = at_status_item!(self.client.get_item(), self, contact_id)
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error("GetItem"))?;
        Ok(output.item)
    }

    /// One conditional UpdateItem on the status item, for the writes of the
    /// stream consumer's own attributes; `false` when the condition failed.
    pub async fn update_status(
        &self,
        contact_id: &ContactId,
        conditional: Conditional,
    ) -> Result<bool, StoreError> {
        let update = self.client.update_item();
        let result = at_status_item!(update, self, contact_id, conditional)
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
