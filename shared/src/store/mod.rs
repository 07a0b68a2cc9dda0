//! The only module that talks to DynamoDB: reading a contact's state, writing keys,
//! and the run transitions, each one conditional write.
//!
//! Items are typed records converted with `serde_dynamo`; attribute maps are built
//! by hand only for key and expression values.

use std::{collections::HashMap, sync::Arc, time::Duration};

use aws_sdk_dynamodb::{
    error::SdkError,
    types::{
        AttributeValue, CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure,
        TransactWriteItem, Update,
    },
    Client,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::{
    integration::MAX_CAUSE_BYTES,
    runs::sources,
    state::{self, ContactState, ItemChange},
    table,
    time::{format_rules_engine, from_epoch_ms, to_epoch_ms},
    Clock, Config, ContactId, IntegrationStatus, Refusal, Run, RunId, RunStart, StatusRecord,
    Transition,
};

pub mod limits;
mod measure;
mod sweep;

pub use measure::{
    Mark, Patience, Stamp, StampRequest, MEASURED_AT, MEASURED_BY, MEASURED_DURATION_MS,
    MEASURED_RUNS,
};
pub use sweep::{OverdueRun, SWEEP, TIMED_OUT_BY};

type Item = HashMap<String, AttributeValue>;

/// Every item written lives this long after its last write (the Rules Engine's TTL).
pub const STATE_TTL: Duration = Duration::from_secs(4 * 60 * 60);

/// The cause written by `timeout`, as the Rules Engine writes it.
pub const TIMEOUT_CAUSE: &str = "The request timed out";

// State keys this system writes.
pub const INTEGRATION_STATUS: &str = "IntegrationStatus";
pub const INTEGRATION_START: &str = "IntegrationStart";
pub const INTEGRATION_END: &str = "IntegrationEnd";
pub const INTEGRATION_ERROR_CAUSE: &str = "IntegrationErrorCause";

/// DynamoDB's limit on the items of one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// How often a transaction that collided with another is tried again before giving up.
const CONFLICT_ATTEMPTS: u32 = 5;

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
}

impl StoreError {
    /// Whether the same call may succeed later: DynamoDB unreachable, throttled or
    /// busy, as opposed to bad data or a bad request.
    pub fn is_retryable(&self) -> bool {
        match self {
            // A request DynamoDB refused as invalid will be refused again.
            StoreError::Request { .. } if self.is_refused_as_invalid() => false,
            StoreError::Request { source, .. } => !matches!(
                **source,
                aws_sdk_dynamodb::Error::ResourceNotFoundException(_)
                    | aws_sdk_dynamodb::Error::ItemCollectionSizeLimitExceededException(_)
            ),
            StoreError::Conflict { .. } => true,
            StoreError::Malformed { .. }
            | StoreError::TooManyChanges { .. }
            | StoreError::ReservedKey { .. } => false,
        }
    }
}

fn request_error<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> StoreError
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

/// A plain state item as stored. Extra attributes are ignored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StateItem {
    contact_id: String,
    what: String,
    value: String,
    expiry: i64,
}

/// The `IntegrationStatus` item with its run attributes.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatusItem {
    contact_id: String,
    what: String,
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiry: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deadline: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    function_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ended_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_shard: Option<u8>,
}

/// Just the sort key and value of any item, for reading a whole contact.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AnyItem {
    what: String,
    value: Option<String>,
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
                }
                values.insert(any.what, state::parse_stored(&text));
            }
        }
        Ok(ContactState::new(values, status))
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

    /// Opens a new run, replacing any run the contact had: a new integration rule
    /// supersedes an open one. The status item, `IntegrationStart` and the removal
    /// of the previous run's end and cause are one transaction.
    pub async fn start(&self, contact_id: &ContactId, start: RunStart) -> Result<Run, StoreError> {
        self.start_as(contact_id, RunId::new(), start).await
    }

    /// [`Store::start`] with a run id chosen by the caller, who can then still
    /// name the run when the write's outcome is unknown (a timeout).
    pub async fn start_as(
        &self,
        contact_id: &ContactId,
        id: RunId,
        start: RunStart,
    ) -> Result<Run, StoreError> {
        let now = self.clock.now();
        let deadline =
            now + chrono::Duration::from_std(start.timeout).unwrap_or(chrono::Duration::MAX);
        let run = Run {
            contact_id: contact_id.clone(),
            id,
            function_name: start.function_name,
            started_at: now,
            deadline,
        };
        let status = StatusItem {
            contact_id: contact_id.to_string(),
            what: INTEGRATION_STATUS.into(),
            value: IntegrationStatus::Start.as_str().into(),
            expiry: Some(self.expiry(now)),
            run_id: Some(run.id.to_string()),
            started_at: Some(to_epoch_ms(now)),
            deadline: Some(to_epoch_ms(deadline)),
            function_name: Some(run.function_name.clone()),
            ended_at: None,
            pending_shard: Some(table::pending_shard(contact_id.as_str())),
        };
        let status = Put::builder()
            .table_name(&self.table)
            .set_item(Some(
                to_item(status).expect("a status record always converts to an item"),
            ))
            .build()
            .expect("table and item are set");
        let items = vec![
            TransactWriteItem::builder().put(status).build(),
            self.change_item(
                contact_id,
                &ItemChange::put(INTEGRATION_START, format_rules_engine(now)),
                now,
            )?,
            self.change_item(contact_id, &ItemChange::delete(INTEGRATION_END), now)?,
            self.change_item(
                contact_id,
                &ItemChange::delete(INTEGRATION_ERROR_CAUSE),
                now,
            )?,
        ];
        self.transact(contact_id, items)
            .await?
            .map_err(|_| StoreError::Conflict {
                contact_id: contact_id.clone(),
            })?;
        Ok(run)
    }

    /// `START`/`RUN` → `RUN`: the integration function has picked the run up.
    pub async fn run(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
    ) -> Result<Transition, StoreError> {
        self.transition(
            contact_id,
            run,
            IntegrationStatus::Run,
            sources::RUN,
            Vec::new(),
        )
        .await
    }

    /// `START`/`RUN` → `DONE`, with the output changes, `IntegrationEnd`, and the
    /// removal of `IntegrationErrorCause`, all or nothing.
    pub async fn done(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        output: &[ItemChange],
    ) -> Result<Transition, StoreError> {
        let mut changes = output.to_vec();
        changes.push(ItemChange::delete(INTEGRATION_ERROR_CAUSE));
        self.finish(contact_id, run, IntegrationStatus::Done, changes)
            .await
    }

    /// `START`/`RUN` → `ERROR`, with the cause, `IntegrationEnd`, and the output
    /// removal (the changes that delete the output key), all or nothing. The
    /// cause is cut to [`MAX_CAUSE_BYTES`]: one DynamoDB could not hold would
    /// leave the run open, which is worse than a cause cut short.
    pub async fn error(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        cause: &str,
        output_removal: &[ItemChange],
    ) -> Result<Transition, StoreError> {
        let mut changes = output_removal.to_vec();
        changes.push(ItemChange::put(
            INTEGRATION_ERROR_CAUSE,
            limits::cut_to(cause, MAX_CAUSE_BYTES),
        ));
        self.finish(contact_id, run, IntegrationStatus::Error, changes)
            .await
    }

    /// `START`/`RUN` → `TIMEOUT`, with the Rules Engine's cause and `IntegrationEnd`.
    pub async fn timeout(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
    ) -> Result<Transition, StoreError> {
        let changes = vec![ItemChange::put(INTEGRATION_ERROR_CAUSE, TIMEOUT_CAUSE)];
        self.finish(contact_id, run, IntegrationStatus::Timeout, changes)
            .await
    }

    async fn finish(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        to: IntegrationStatus,
        mut changes: Vec<ItemChange>,
    ) -> Result<Transition, StoreError> {
        changes.push(ItemChange::put(
            INTEGRATION_END,
            format_rules_engine(self.clock.now()),
        ));
        self.transition(contact_id, run, to, sources::FINISH, changes)
            .await
    }

    /// The one conditional write behind every transition: the status item moves to
    /// `to` only if it names `run` (`None`: a run written without a run id) and is
    /// in one of `from`; the other changes land with it or not at all.
    async fn transition(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        to: IntegrationStatus,
        from: &[IntegrationStatus],
        changes: Vec<ItemChange>,
    ) -> Result<Transition, StoreError> {
        self.transition_marked(contact_id, run, to, from, changes, &[])
            .await
    }

    /// [`Self::transition`], also setting `marks` (attribute, value) on the status
    /// item, so a reader of the stream can tell who made the transition.
    async fn transition_marked(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        to: IntegrationStatus,
        from: &[IntegrationStatus],
        changes: Vec<ItemChange>,
        marks: &[(&str, AttributeValue)],
    ) -> Result<Transition, StoreError> {
        let now = self.clock.now();
        let mut update = "SET #v = :to, #exp = :exp".to_owned();
        let mut values = HashMap::from([
            (":to".to_owned(), AttributeValue::S(to.as_str().into())),
            (
                ":exp".to_owned(),
                AttributeValue::N(self.expiry(now).to_string()),
            ),
        ]);
        let mut names = HashMap::from([
            ("#v".to_owned(), table::VALUE.to_owned()),
            ("#exp".to_owned(), table::EXPIRY.to_owned()),
            ("#run".to_owned(), table::RUN_ID.to_owned()),
        ]);
        for (i, (name, value)) in marks.iter().enumerate() {
            update.push_str(&format!(", #mark{i} = :mark{i}"));
            names.insert(format!("#mark{i}"), (*name).to_owned());
            values.insert(format!(":mark{i}"), value.clone());
        }
        if to.is_terminal() {
            // Leaving the pending-runs index is part of finishing.
            update.push_str(", #ended = :now REMOVE #shard");
            values.insert(
                ":now".into(),
                AttributeValue::N(to_epoch_ms(now).to_string()),
            );
            names.insert("#ended".into(), table::ENDED_AT.into());
            names.insert("#shard".into(), table::PENDING_SHARD.into());
        }
        let sources: Vec<String> = from
            .iter()
            .enumerate()
            .map(|(i, status)| {
                values.insert(
                    format!(":from{i}"),
                    AttributeValue::S(status.as_str().into()),
                );
                format!(":from{i}")
            })
            .collect();
        let run_condition = match run {
            Some(id) => {
                values.insert(":run".into(), AttributeValue::S(id.to_string()));
                "#run = :run"
            }
            None => "attribute_not_exists(#run)",
        };
        let condition = format!("{run_condition} AND #v IN ({})", sources.join(", "));

        let status = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(contact_id, INTEGRATION_STATUS)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and update expression are set");
        let mut items = vec![TransactWriteItem::builder().update(status).build()];
        for change in &changes {
            items.push(self.change_item(contact_id, change, now)?);
        }
        match self.transact(contact_id, items).await? {
            Ok(()) => Ok(Transition::Applied),
            Err(Refused {
                current: Some(item),
            }) => {
                let current = status_record(contact_id, item)?;
                Ok(Transition::Refused(Refusal::from_current(
                    run,
                    Some(&current),
                )))
            }
            // DynamoDB Local may not return the item; read it.
            Err(Refused { current: None }) => {
                let current = self.status(contact_id).await?;
                Ok(Transition::Refused(Refusal::from_current(
                    run,
                    current.as_ref(),
                )))
            }
        }
    }

    /// Runs a transaction whose first item carries the only condition. Collisions
    /// with concurrent transactions are tried again; a refused condition comes back
    /// as `Err(Refused)` with the first item as it was, when DynamoDB returned it.
    async fn transact(
        &self,
        contact_id: &ContactId,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Refused>, StoreError> {
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::TooManyChanges { count: items.len() });
        }
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Ok(())),
                Err(err) => err,
            };
            let reasons = match err.as_service_error() {
                Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                    cancelled,
                )) => cancelled.cancellation_reasons().to_vec(),
                _ => return Err(request_error("TransactWriteItems")(err)),
            };
            if let Some(refused) = refusal(&reasons) {
                return Ok(Err(refused));
            }
            if !reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
            {
                return Err(request_error("TransactWriteItems")(err));
            }
            // Another transaction held one of the items; the conditions are checked
            // afresh on the next attempt, so a retry cannot apply a stale decision.
            if attempt < CONFLICT_ATTEMPTS {
                self.clock
                    .sleep(Duration::from_millis(10 * u64::from(attempt)))
                    .await;
            }
        }
        Err(StoreError::Conflict {
            contact_id: contact_id.clone(),
        })
    }

    fn change_item(
        &self,
        contact_id: &ContactId,
        change: &ItemChange,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        if change.what == INTEGRATION_STATUS {
            return Err(StoreError::ReservedKey {
                what: change.what.clone(),
            });
        }
        Ok(match &change.value {
            Some(value) => {
                let item = StateItem {
                    contact_id: contact_id.to_string(),
                    what: change.what.clone(),
                    value: value.clone(),
                    expiry: self.expiry(now),
                };
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(
                        to_item(item).expect("a state record always converts to an item"),
                    ))
                    .build()
                    .expect("table and item are set");
                TransactWriteItem::builder().put(put).build()
            }
            None => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(contact_id, &change.what)))
                    .build()
                    .expect("table and key are set");
                TransactWriteItem::builder().delete(delete).build()
            }
        })
    }
}

/// A refused condition, with the conditioned item as it was when DynamoDB returned it.
struct Refused {
    current: Option<Item>,
}

fn refusal(reasons: &[CancellationReason]) -> Option<Refused> {
    let first = reasons.first()?;
    (first.code() == Some("ConditionalCheckFailed")).then(|| Refused {
        current: first.item.clone(),
    })
}

fn item_what(item: &Item) -> String {
    match item.get(table::WHAT) {
        Some(AttributeValue::S(what)) => what.clone(),
        _ => "(no What)".into(),
    }
}

fn status_record(contact_id: &ContactId, item: Item) -> Result<StatusRecord, StoreError> {
    let malformed = |reason: String| StoreError::Malformed {
        contact_id: contact_id.clone(),
        what: INTEGRATION_STATUS.into(),
        reason,
    };
    let record: StatusItem = from_item(item).map_err(|err| malformed(err.to_string()))?;
    let status = record
        .value
        .parse::<IntegrationStatus>()
        .map_err(|err| malformed(err.to_string()))?;
    let run_id = record
        .run_id
        .map(RunId::parse)
        .transpose()
        .map_err(|err| malformed(err.to_string()))?;
    let time = |ms: Option<i64>| ms.and_then(from_epoch_ms);
    Ok(StatusRecord {
        contact_id: contact_id.clone(),
        status,
        run_id,
        started_at: time(record.started_at),
        deadline: time(record.deadline),
        function_name: record.function_name,
        ended_at: time(record.ended_at),
    })
}
