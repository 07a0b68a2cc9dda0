//! THE NAIVE POLLER: a faithful reimplementation of the original Rules Engine's
//! access pattern, kept apart from the project's code so that every figure of the
//! benchmark can be a ratio measured side by side. Nothing of `shared`'s store,
//! transitions or waiting is used here; only the table's layout is shared.
//!
//! - start: a consistent Query of the contact's whole partition; the status and
//!   `IntegrationStart` written with a plain BatchWriteItem; the function invoked
//!   asynchronously; then the whole partition Queried again every 100 ms until
//!   the status is final or 2 s have passed, and answered from the last Query.
//! - check-timeout: the whole partition Queried in a loop without sleeping until
//!   the status is final, the run's timeout has passed (then `TIMEOUT`, a plain
//!   write) or 2 s have passed.
//! - the integration function: a Query of the partition, `RUN` written, the work,
//!   then `DONE` with its output, end time and the cause's removal in one plain
//!   BatchWriteItem (not atomic: a reader may see some of it).

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::{
    types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest},
    Client,
};
use shared::time::{format_rules_engine, parse_rules_engine};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The answer, a flat map of the contact's state values.
pub type State = BTreeMap<String, String>;

const POLL_PAUSE: Duration = Duration::from_millis(100);
const WAIT: Duration = Duration::from_secs(2);

/// The naive poller on one table, through `client`.
#[derive(Clone)]
pub struct Naive {
    pub client: Client,
    pub table: String,
}

fn status(state: &State) -> &str {
    state.get("IntegrationStatus").map_or("", String::as_str)
}

fn is_final(state: &State) -> bool {
    matches!(status(state), "DONE" | "ERROR" | "TIMEOUT")
}

impl Naive {
    /// The whole partition, consistently, every page.
    pub async fn load(&self, contact: &str) -> Result<State, Error> {
        let mut pages = kit::aws::contact_query(&self.client, &self.table, contact)
            .into_paginator()
            .send();
        let mut state = State::new();
        while let Some(page) = pages.next().await {
            for item in page?.items.unwrap_or_default() {
                if let (Some(AttributeValue::S(what)), Some(AttributeValue::S(value))) =
                    (item.get("What"), item.get("Value"))
                {
                    state.insert(what.clone(), value.clone());
                }
            }
        }
        Ok(state)
    }

    /// Plain deletes and puts, in that order, in one BatchWriteItem, as the
    /// original's `persistCustomerState` does; unprocessed items are sent again.
    pub async fn persist(
        &self,
        contact: &str,
        puts: &[(&str, String)],
        deletes: &[&str],
    ) -> Result<(), Error> {
        let expiry = (chrono::Utc::now().timestamp() + 4 * 3600).to_string();
        let mut requests: Vec<WriteRequest> = Vec::new();
        for what in deletes {
            let key = HashMap::from([
                ("ContactId".to_owned(), AttributeValue::S(contact.into())),
                ("What".to_owned(), AttributeValue::S((*what).into())),
            ]);
            let delete = DeleteRequest::builder().set_key(Some(key)).build()?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        for (what, value) in puts {
            let item = HashMap::from([
                ("ContactId".to_owned(), AttributeValue::S(contact.into())),
                ("What".to_owned(), AttributeValue::S((*what).into())),
                ("Value".to_owned(), AttributeValue::S(value.clone())),
                ("Expiry".to_owned(), AttributeValue::N(expiry.clone())),
            ]);
            let put = PutRequest::builder().set_item(Some(item)).build()?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        let mut pending = HashMap::from([(self.table.clone(), requests)]);
        while pending.values().any(|r| !r.is_empty()) {
            let output = self
                .client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await?;
            pending = output.unprocessed_items.unwrap_or_default();
        }
        Ok(())
    }

    /// The original's ConnectIntegrationStart.
    pub async fn start(
        &self,
        lambda: &aws_sdk_lambda::Client,
        contact: &str,
        event: &serde_json::Value,
    ) -> Result<State, Error> {
        let started = Instant::now();
        let state = self.load(contact).await?;
        let function = state
            .get("CurrentRule_functionArn")
            .ok_or("no CurrentRule_functionArn")?
            .clone();
        let now = format_rules_engine(chrono::Utc::now());
        self.persist(
            contact,
            &[
                ("IntegrationStatus", "START".into()),
                ("IntegrationStart", now),
            ],
            &["IntegrationEnd", "IntegrationErrorCause"],
        )
        .await?;
        let request = serde_json::json!({
            "ContactId": contact,
            "OriginalRequest": event.to_string(),
            "Payload": state.get("CurrentRule_functionPayload").cloned().unwrap_or_default(),
        });
        lambda
            .invoke()
            .function_name(function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(request.to_string()))
            .send()
            .await?;
        loop {
            let state = self.load(contact).await?;
            if is_final(&state) || started.elapsed() >= WAIT {
                return Ok(state);
            }
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }

    /// The original's ConnectCheckTimeout.
    pub async fn check_timeout(&self, contact: &str) -> Result<State, Error> {
        let started = Instant::now();
        loop {
            let state = self.load(contact).await?;
            if is_final(&state) {
                return Ok(state);
            }
            if timed_out(&state) {
                let now = format_rules_engine(chrono::Utc::now());
                self.persist(
                    contact,
                    &[
                        ("IntegrationStatus", "TIMEOUT".into()),
                        ("IntegrationErrorCause", "The request timed out".into()),
                        ("IntegrationEnd", now),
                    ],
                    &[],
                )
                .await?;
                return self.load(contact).await;
            }
            if started.elapsed() >= WAIT {
                return Ok(state);
            }
        }
    }

    /// The original's integration function (IntegrationEcho) doing `work`; returns
    /// when its `DONE` has been written.
    pub async fn integration(&self, contact: &str, work: Duration) -> Result<Instant, Error> {
        let state = self.load(contact).await?;
        let output_key = state
            .get("CurrentRule_functionOutputKey")
            .ok_or("no CurrentRule_functionOutputKey")?
            .clone();
        let payload = state
            .get("CurrentRule_functionPayload")
            .cloned()
            .unwrap_or_default();
        self.persist(contact, &[("IntegrationStatus", "RUN".into())], &[])
            .await?;
        tokio::time::sleep(work).await;
        self.done(contact, &output_key, payload).await
    }

    /// The `DONE` write alone. The batch is not atomic: DynamoDB Local writes its
    /// items in order, so the status goes last, and the write's return is when
    /// `DONE` became visible (listed first, start could see `DONE` before the
    /// batch returned, and before the output existed: the original's bug).
    pub async fn done(
        &self,
        contact: &str,
        output_key: &str,
        output: String,
    ) -> Result<Instant, Error> {
        let now = format_rules_engine(chrono::Utc::now());
        self.persist(
            contact,
            &[
                ("IntegrationEnd", now),
                (output_key, output),
                ("IntegrationStatus", "DONE".into()),
            ],
            &["IntegrationErrorCause"],
        )
        .await?;
        Ok(Instant::now())
    }
}

/// `IntegrationStart` + `CurrentRule_functionTimeout` has passed.
fn timed_out(state: &State) -> bool {
    let started = state
        .get("IntegrationStart")
        .and_then(|t| parse_rules_engine(t).ok());
    let timeout = state
        .get("CurrentRule_functionTimeout")
        .and_then(|t| t.parse::<f64>().ok());
    match (started, timeout) {
        (Some(started), Some(timeout)) => {
            chrono::Utc::now()
                >= started + chrono::Duration::milliseconds((timeout * 1000.0) as i64)
        }
        _ => false,
    }
}
