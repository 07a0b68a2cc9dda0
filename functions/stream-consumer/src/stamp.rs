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

use std::{collections::HashMap, future::Future, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;

use shared::{
    store::{patiently, Conditional, Item, Patience},
    table,
    telemetry::error_chain,
    time::to_epoch_ms,
    ContactId, IntegrationStatus, RunId, Store, StoreError,
};

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

/// The stamp's writes, on the state table's store: provided methods, so a
/// store is all an implementation gives.
pub(crate) trait Stamps {
    fn store(&self) -> &Store;

    /// Stamps a finished run on its status item, conditional on the item still
    /// holding that completion and on no stamp yet.
    async fn stamp_measured(
        &self,
        contact_id: &ContactId,
        request: &StampRequest<'_>,
        patience: Patience,
    ) -> Result<Stamp, StoreError> {
        let store = self.store();
        with_token(store, patience, |token| {
            stamp_once(store, contact_id, request, token)
        })
        .await
    }

    /// Marks a run as measured on the contact's current status item, whatever run
    /// that item holds, unless it is marked there already.
    async fn mark_measured(
        &self,
        contact_id: &ContactId,
        key: &str,
        patience: Patience,
    ) -> Result<Mark, StoreError> {
        let store = self.store();
        with_token(store, patience, |token| {
            mark_once(store, contact_id, key, token)
        })
        .await
    }

    /// Adds `keys` to the current status item's measured runs: carries what the
    /// previous item knew over to the item `start` replaced it with. A union, so
    /// repeating it is harmless. Returns `false` when the contact has no status item.
    async fn carry_measured(
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
        let conditional = Conditional {
            update: "ADD #runs :keys".into(),
            condition: "attribute_exists(#what)".into(),
            names,
            values,
        };
        self.store().update_status(contact_id, conditional).await
    }
}

impl Stamps for Store {
    fn store(&self) -> &Store {
        self
    }
}

async fn stamp_once(
    store: &Store,
    contact_id: &ContactId,
    request: &StampRequest<'_>,
    token: String,
) -> Result<Stamp, StoreError> {
    let now = to_epoch_ms(store.clock().now());
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
        (":token".to_owned(), AttributeValue::S(token.clone())),
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
    if store
        .update_status(
            contact_id,
            Conditional {
                update,
                condition,
                names,
                values,
            },
        )
        .await?
    {
        return Ok(Stamp::Stamped);
    }
    // The condition failed: tell apart "done before" from "the item moved on".
    let Some(current) = store.raw_status(contact_id).await? else {
        return Ok(Stamp::Gone);
    };
    Ok(if written_by(&current, &token) {
        Stamp::Stamped
    } else if holds_key(&current, request.key) {
        Stamp::AlreadyMeasured
    } else {
        Stamp::NotCurrent
    })
}

async fn mark_once(
    store: &Store,
    contact_id: &ContactId,
    key: &str,
    token: String,
) -> Result<Mark, StoreError> {
    let names = HashMap::from([
        ("#what".to_owned(), table::WHAT.to_owned()),
        ("#runs".to_owned(), MEASURED_RUNS.to_owned()),
        ("#by".to_owned(), MEASURED_BY.to_owned()),
    ]);
    let values = HashMap::from([
        (":key".to_owned(), AttributeValue::Ss(vec![key.to_owned()])),
        (":k".to_owned(), AttributeValue::S(key.to_owned())),
        (":token".to_owned(), AttributeValue::S(token.clone())),
    ]);
    if store
        .update_status(
            contact_id,
            Conditional {
                update: "SET #by = :token ADD #runs :key".into(),
                condition: "attribute_exists(#what) AND NOT contains(#runs, :k)".into(),
                names,
                values,
            },
        )
        .await?
    {
        return Ok(Mark::Marked);
    }
    Ok(match store.raw_status(contact_id).await? {
        None => Mark::Gone,
        Some(current) if written_by(&current, &token) => Mark::Marked,
        Some(_) => Mark::AlreadyMarked,
    })
}

/// Runs `attempt` with `patience`, every retry with the same fresh token, so
/// that a write which landed while its answer was lost is recognised as this
/// caller's.
async fn with_token<T, Fut>(
    store: &Store,
    patience: Patience,
    attempt: impl Fn(String) -> Fut,
) -> Result<T, StoreError>
where
    Fut: Future<Output = Result<T, StoreError>>,
{
    let token = uuid::Uuid::new_v4().to_string();
    patiently(store.clock(), patience, log_retry, || {
        attempt(token.clone())
    })
    .await
}

/// Each retry of a stamp or a mark, in the log.
fn log_retry(retry: u32, err: &StoreError) {
    tracing::warn!(retry, error = %error_chain(err), "MEASURE_WRITE_RETRY");
}

/// Whether `item`'s last stamp or mark is the write that carried `token`.
fn written_by(item: &Item, token: &str) -> bool {
    matches!(item.get(MEASURED_BY), Some(AttributeValue::S(by)) if by == token)
}

fn holds_key(item: &Item, key: &str) -> bool {
    matches!(item.get(MEASURED_RUNS), Some(AttributeValue::Ss(keys)) if keys.iter().any(|k| k == key))
}
