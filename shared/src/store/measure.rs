//! The metrics stamp: how the stream consumer records on the status item that a
//! run has been measured, so that a run is measured once however often its stream
//! record is delivered or replayed.
//!
//! - `MeasuredAt` (epoch ms) and `MeasuredDurationMs` say that the item's own run
//!   has been measured, with what figures. The event source mapping's filter drops
//!   records whose new image has `MeasuredAt`, so the stamp is not measured again.
//! - `MeasuredRuns` (string set) holds the keys of every run of the contact known
//!   to be measured: the item's own once stamped, and earlier runs whose records
//!   arrived after their item had been replaced by a newer run. `start` replaces
//!   the whole item, so the consumer carries the set over to the new run's item.
//! - `MeasuredBy` holds a token unique to the last stamp or mark, so that a write
//!   the SDK retried after its answer was lost is recognised as this caller's.
//!
//! Every write here is one conditional UpdateItem on the status item.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::{
    operation::update_item::UpdateItemError, types::AttributeValue, types::ReturnValue,
};

use super::{request_error, Item, Store, StoreError, INTEGRATION_STATUS};
use crate::{table, time::to_epoch_ms, ContactId, IntegrationStatus, RunId};

/// When the item's own run was measured (epoch ms); its presence is the stamp.
pub const MEASURED_AT: &str = "MeasuredAt";
/// The measured duration of the item's own run, when it was known.
pub const MEASURED_DURATION_MS: &str = "MeasuredDurationMs";
/// Keys of the contact's runs already measured (string set).
pub const MEASURED_RUNS: &str = "MeasuredRuns";
/// A token unique to the last stamp or mark written: when the SDK retries a
/// write whose first attempt landed but whose answer was lost, the retry is
/// refused, and the token tells "my own write" from "someone else's".
pub const MEASURED_BY: &str = "MeasuredBy";

/// A finished run to stamp on its own status item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampRequest<'a> {
    /// The run id the item holds for this completion (`None`: written without one).
    pub item_run: Option<&'a RunId>,
    /// The terminal status the item holds for this completion.
    pub status: IntegrationStatus,
    /// The key the run is known by in `MeasuredRuns`.
    pub key: &'a str,
    pub duration: Option<Duration>,
}

/// How the stamp and the mark retry a write that failed for a reason worth
/// retrying: with the same token, so that a write which landed while its answer
/// was lost (a timeout, a dropped connection) is recognised as this caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Retrying stops once this much time has passed since the first attempt.
    pub for_at_most: Duration,
}

impl Patience {
    pub const NONE: Patience = Patience {
        for_at_most: Duration::ZERO,
    };

    /// The pause before retry `attempt` (1-based): 250 ms, doubling, at most 4 s.
    fn pause(attempt: u32) -> Duration {
        Duration::from_millis(250 << attempt.saturating_sub(1).min(4))
    }
}

/// What stamping a finished run came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    /// The stamp landed: this caller measures the run.
    Stamped,
    /// The run is already measured.
    AlreadyMeasured,
    /// The item holds another run (or status) now; mark the run there instead.
    NotCurrent,
    /// The contact has no status item any more (expired or deleted).
    Gone,
}

/// What marking a run as measured on the contact's current status item came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The run was not marked yet and now is: this caller measures it.
    Marked,
    AlreadyMarked,
    Gone,
}

impl Store {
    /// Stamps a finished run on its status item, conditional on the item still
    /// holding that completion and on no stamp yet.
    pub async fn stamp_measured(
        &self,
        contact_id: &ContactId,
        request: &StampRequest<'_>,
        patience: Patience,
    ) -> Result<Stamp, StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        self.patiently(patience, || self.stamp_once(contact_id, request, &token))
            .await
    }

    async fn stamp_once(
        &self,
        contact_id: &ContactId,
        request: &StampRequest<'_>,
        token: &str,
    ) -> Result<Stamp, StoreError> {
        let now = to_epoch_ms(self.clock.now());
        let mut set = vec!["#at = :now", "#by = :token"];
        let mut names = HashMap::from([
            ("#v".to_owned(), table::VALUE.to_owned()),
            ("#run".to_owned(), table::RUN_ID.to_owned()),
            ("#at".to_owned(), MEASURED_AT.to_owned()),
            ("#runs".to_owned(), MEASURED_RUNS.to_owned()),
            ("#by".to_owned(), MEASURED_BY.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":now".to_owned(), AttributeValue::N(now.to_string())),
            (":token".to_owned(), AttributeValue::S(token.to_owned())),
            (
                ":key".to_owned(),
                AttributeValue::Ss(vec![request.key.to_owned()]),
            ),
            (":k".to_owned(), AttributeValue::S(request.key.to_owned())),
            (
                ":status".to_owned(),
                AttributeValue::S(request.status.as_str().to_owned()),
            ),
        ]);
        if let Some(duration) = request.duration {
            set.push("#dur = :dur");
            names.insert("#dur".into(), MEASURED_DURATION_MS.into());
            values.insert(
                ":dur".into(),
                AttributeValue::N(duration.as_millis().to_string()),
            );
        }
        let run_condition = match request.item_run {
            Some(run) => {
                values.insert(":run".into(), AttributeValue::S(run.to_string()));
                "#run = :run"
            }
            None => "attribute_not_exists(#run)",
        };
        let update = format!("SET {} ADD #runs :key", set.join(", "));
        let condition = format!(
            "{run_condition} AND #v = :status AND attribute_not_exists(#at) AND NOT contains(#runs, :k)"
        );
        if self
            .conditional_update(contact_id, update, condition, names, values)
            .await?
        {
            return Ok(Stamp::Stamped);
        }
        // The condition failed: tell apart "done before" from "the item moved on".
        let Some(current) = self.raw_status(contact_id).await? else {
            return Ok(Stamp::Gone);
        };
        Ok(if written_by(&current, token) {
            Stamp::Stamped
        } else if holds_key(&current, request.key) {
            Stamp::AlreadyMeasured
        } else {
            Stamp::NotCurrent
        })
    }

    /// Marks a run as measured on the contact's current status item, whatever run
    /// that item holds, unless it is marked there already.
    pub async fn mark_measured(
        &self,
        contact_id: &ContactId,
        key: &str,
        patience: Patience,
    ) -> Result<Mark, StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        self.patiently(patience, || self.mark_once(contact_id, key, &token))
            .await
    }

    async fn mark_once(
        &self,
        contact_id: &ContactId,
        key: &str,
        token: &str,
    ) -> Result<Mark, StoreError> {
        let names = HashMap::from([
            ("#what".to_owned(), table::WHAT.to_owned()),
            ("#runs".to_owned(), MEASURED_RUNS.to_owned()),
            ("#by".to_owned(), MEASURED_BY.to_owned()),
        ]);
        let values = HashMap::from([
            (":key".to_owned(), AttributeValue::Ss(vec![key.to_owned()])),
            (":k".to_owned(), AttributeValue::S(key.to_owned())),
            (":token".to_owned(), AttributeValue::S(token.to_owned())),
        ]);
        if self
            .conditional_update(
                contact_id,
                "SET #by = :token ADD #runs :key".into(),
                "attribute_exists(#what) AND NOT contains(#runs, :k)".into(),
                names,
                values,
            )
            .await?
        {
            return Ok(Mark::Marked);
        }
        Ok(match self.raw_status(contact_id).await? {
            None => Mark::Gone,
            Some(current) if written_by(&current, token) => Mark::Marked,
            Some(_) => Mark::AlreadyMarked,
        })
    }

    /// Adds `keys` to the current status item's measured runs: carries what the
    /// previous item knew over to the item `start` replaced it with. A union, so
    /// repeating it is harmless. Returns `false` when the contact has no status item.
    pub async fn carry_measured(
        &self,
        contact_id: &ContactId,
        keys: &[String],
    ) -> Result<bool, StoreError> {
        if keys.is_empty() {
            return Ok(true);
        }
        let names = HashMap::from([
            ("#what".to_owned(), table::WHAT.to_owned()),
            ("#runs".to_owned(), MEASURED_RUNS.to_owned()),
        ]);
        let values = HashMap::from([(":keys".to_owned(), AttributeValue::Ss(keys.to_vec()))]);
        self.conditional_update(
            contact_id,
            "ADD #runs :keys".into(),
            "attribute_exists(#what)".into(),
            names,
            values,
        )
        .await
    }

    /// Runs `attempt` until it succeeds, fails for a reason not worth retrying,
    /// or `patience` runs out; the last error is returned.
    async fn patiently<T, F, Fut>(
        &self,
        patience: Patience,
        mut attempt: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let began = std::time::Instant::now();
        let mut retries = 0;
        loop {
            match attempt().await {
                Err(err) if err.is_retryable() && began.elapsed() < patience.for_at_most => {
                    retries += 1;
                    tracing::warn!(retry = retries, error = %crate::telemetry::error_chain(&err), "MEASURE_WRITE_RETRY");
                    self.clock.sleep(Patience::pause(retries)).await;
                }
                result => return result,
            }
        }
    }

    /// One conditional UpdateItem on the status item; `false` when the condition failed.
    async fn conditional_update(
        &self,
        contact_id: &ContactId,
        update: String,
        condition: String,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(contact_id, INTEGRATION_STATUS)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
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

    /// The status item as stored, every attribute, read consistently.
    pub(super) async fn raw_status(
        &self,
        contact_id: &ContactId,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(contact_id, INTEGRATION_STATUS)))
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error("GetItem"))?;
        Ok(output.item)
    }
}

/// Whether `item`'s last stamp or mark is the write that carried `token`.
fn written_by(item: &Item, token: &str) -> bool {
    matches!(item.get(MEASURED_BY), Some(AttributeValue::S(by)) if by == token)
}

fn holds_key(item: &Item, key: &str) -> bool {
    matches!(item.get(MEASURED_RUNS), Some(AttributeValue::Ss(keys)) if keys.iter().any(|k| k == key))
}
