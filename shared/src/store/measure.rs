//! The metrics stamp: how the stream consumer records on the status item that a
//! run has been measured, so that a run is measured once however often its
//! stream record is delivered or replayed (docs/design.md, "Measured once").
//!
//! - `MeasuredAt` and `MeasuredDurationMs` say that the item's own run has been
//!   measured. The event source mapping's filter drops records whose new image
//!   has `MeasuredAt`, so the stamp is not measured again.
//! - `MeasuredRuns` holds the keys of every run of the contact known to be
//!   measured; `start` replaces the whole item, so the consumer carries the set
//!   over to the new run's item.
//! - `MeasuredBy` holds a token unique to the last stamp or mark, so that a
//!   write the SDK retried after its answer was lost is known as this caller's.
//!
//! Every write here is one conditional UpdateItem on the status item.

use std::{future::Future, time::Duration};

use super::{
    patiently,
    update::{number, text, Update},
    Patience, Store, StoreError,
};
use crate::{
    table::{MEASURED_AT, MEASURED_BY, MEASURED_DURATION_MS, MEASURED_RUNS, RUN_ID, VALUE, WHAT},
    telemetry::error_chain,
    time::to_epoch_ms,
    ContactId, IntegrationStatus, RunId,
};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The stamp landed: this caller measures the run.
    Stamped,
    AlreadyMeasured,
    /// The item holds another run (or status) now; mark the run there instead.
    NotCurrent,
    /// The contact has no status item any more (expired or deleted).
    Gone,
}

/// What marking a run as measured on the contact's current status item came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Not marked yet, and now it is: this caller measures the run.
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
        self.with_token(patience, |token| async move {
            let now = to_epoch_ms(self.clock.now());
            let mut update = Update::default()
                .set(MEASURED_AT, number(now))
                .set(MEASURED_BY, text(&token));
            if let Some(duration) = request.duration {
                update = update.set(MEASURED_DURATION_MS, number(duration.as_millis() as i64));
            }
            let update = update
                .add(MEASURED_RUNS, &[request.key.to_owned()])
                .only_if(RUN_ID, request.item_run.map(|run| text(run.as_str())))
                .only_if_equal(VALUE, text(request.status.as_str()))
                .only_if_absent(MEASURED_AT)
                .only_if_lacks(MEASURED_RUNS, request.key);
            if self.update_status(contact_id, update).await? {
                return Ok(Stamp::Stamped);
            }
            // Refused: tell "done before" from "the item moved on".
            Ok(match self.status(contact_id).await? {
                None => Stamp::Gone,
                Some(item) if item.measured_by.as_deref() == Some(&token) => Stamp::Stamped,
                Some(item) if item.measured_runs.iter().any(|k| k == request.key) => {
                    Stamp::AlreadyMeasured
                }
                Some(_) => Stamp::NotCurrent,
            })
        })
        .await
    }

    /// Marks a run as measured on the contact's current status item, whatever
    /// run that item holds, unless it is marked there already.
    pub async fn mark_measured(
        &self,
        contact_id: &ContactId,
        key: &str,
        patience: Patience,
    ) -> Result<Mark, StoreError> {
        self.with_token(patience, |token| async move {
            let update = Update::default()
                .set(MEASURED_BY, text(&token))
                .add(MEASURED_RUNS, &[key.to_owned()])
                .only_if_present(WHAT)
                .only_if_lacks(MEASURED_RUNS, key);
            if self.update_status(contact_id, update).await? {
                return Ok(Mark::Marked);
            }
            Ok(match self.status(contact_id).await? {
                None => Mark::Gone,
                Some(item) if item.measured_by.as_deref() == Some(&token) => Mark::Marked,
                Some(_) => Mark::AlreadyMarked,
            })
        })
        .await
    }

    /// Adds `keys` to the current status item's measured runs: carries what
    /// the previous item knew over to the item `start` replaced it with. A
    /// union, so repeating it is harmless. `false` when there is no status item.
    pub async fn carry_measured(
        &self,
        contact_id: &ContactId,
        keys: &[String],
    ) -> Result<bool, StoreError> {
        if keys.is_empty() {
            return Ok(true);
        }
        let update = Update::default()
            .add(MEASURED_RUNS, keys)
            .only_if_present(WHAT);
        self.update_status(contact_id, update).await
    }

    /// Runs `attempt` with `patience`, every retry with the same fresh token, so
    /// that a write which landed while its answer was lost is known as this
    /// caller's.
    async fn with_token<'a, T, Fut>(
        &'a self,
        patience: Patience,
        attempt: impl Fn(String) -> Fut,
    ) -> Result<T, StoreError>
    where
        Fut: Future<Output = Result<T, StoreError>> + 'a,
    {
        let token = uuid::Uuid::new_v4().to_string();
        let log_retry = |retry: u32, err: &StoreError| {
            tracing::warn!(retry, error = %error_chain(err), "MEASURE_WRITE_RETRY");
        };
        patiently(self.clock(), patience, log_retry, || attempt(token.clone())).await
    }
}
