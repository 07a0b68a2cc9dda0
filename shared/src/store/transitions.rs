//! The run transitions: opening a run, and moving its status item on, each one
//! conditional write with the changes that go with it.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use chrono::{DateTime, Utc};

use super::{
    items::status_item,
    request_error,
    update::{number, text, Update},
    Item, Store, StoreError, INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START,
    MAX_TRANSACTION_ITEMS, SWEEP, TIMEOUT_CAUSE,
};
use crate::{
    limits::MAX_CAUSE_BYTES,
    runs::sources,
    table,
    time::{format_rules_engine, to_epoch_ms},
    ContactId, IntegrationStatus, ItemChange, Refusal, Run, RunId, RunStart, StatusItem,
    Transition,
};

/// How often a transaction that collided with another is tried again before giving up.
const CONFLICT_ATTEMPTS: u32 = 5;

impl Store {
    /// Opens a new run, replacing any run the contact had: a new integration rule
    /// supersedes an open one. The status item, `IntegrationStart` and the removal
    /// of the previous run's end and cause are one transaction.
    pub async fn start(&self, contact_id: &ContactId, start: RunStart) -> Result<Run, StoreError> {
        self.start_as(contact_id, RunId::new(), start, None).await
    }

    /// [`Store::start`] with a run id chosen by the caller, who can then still
    /// name the run when the write's outcome is unknown (a timeout). With
    /// `activation`, the Rules Engine's `RuleStart` as read, the same
    /// transaction marks that item with the run, so that a retry of start for
    /// the same rule activation finds it ([`ContactState::activation_run`]).
    ///
    /// [`ContactState::activation_run`]: crate::ContactState::activation_run
    pub async fn start_as(
        &self,
        contact_id: &ContactId,
        id: RunId,
        start: RunStart,
        activation: Option<&str>,
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
            run_id: Some(run.id.clone()),
            started_at: Some(now),
            deadline: Some(deadline),
            function_name: Some(run.function_name.clone()),
            pending_shard: Some(table::pending_shard(contact_id.as_str())),
            ..StatusItem::bare(IntegrationStatus::Start, Some(self.expiry(now)))
        };
        let items = vec![
            self.put_status(contact_id, &status),
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
        let items = items
            .into_iter()
            .chain(activation.map(|seen| self.mark_activation(contact_id, &run.id, seen)))
            .collect();
        // Only the activation's mark is conditional: a refusal is its.
        self.transact(contact_id, items)
            .await?
            .map_err(|_| StoreError::ActivationTaken {
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
        let to = IntegrationStatus::Run;
        self.transition(contact_id, run, to, sources::RUN, Vec::new(), &[])
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
        let cause = ItemChange::delete(INTEGRATION_ERROR_CAUSE);
        let to = IntegrationStatus::Done;
        self.finish(contact_id, run, to, output, cause, &[]).await
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
        let cause = super::limits::cut_to(cause, MAX_CAUSE_BYTES);
        // Kept on the status item too, for the repair of a legacy writer's late put.
        let kept = [(table::CAUSE, AttributeValue::S(cause.to_owned()))];
        let cause = ItemChange::put(INTEGRATION_ERROR_CAUSE, cause);
        let to = IntegrationStatus::Error;
        self.finish(contact_id, run, to, output_removal, cause, &kept)
            .await
    }

    /// `START`/`RUN` → `TIMEOUT`, with the Rules Engine's cause and `IntegrationEnd`.
    pub async fn timeout(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
    ) -> Result<Transition, StoreError> {
        self.timeout_marked(contact_id, run, &[]).await
    }

    /// The abandoned-run sweep's [`Store::timeout`], with `TimedOutBy =
    /// sweep` on the status item, so a reader of the stream can tell who
    /// timed the run out: the same conditional transition, so only one of
    /// the two writers wins.
    pub async fn sweep_timeout(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
    ) -> Result<Transition, StoreError> {
        let marks = [(table::TIMED_OUT_BY, AttributeValue::S(SWEEP.into()))];
        self.timeout_marked(contact_id, run, &marks).await
    }

    async fn timeout_marked(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        marks: &[(&str, AttributeValue)],
    ) -> Result<Transition, StoreError> {
        let cause = ItemChange::put(INTEGRATION_ERROR_CAUSE, TIMEOUT_CAUSE);
        let to = IntegrationStatus::Timeout;
        self.finish(contact_id, run, to, &[], cause, marks).await
    }

    /// `START`/`RUN` → `to`, a terminal status: `output`, then `cause` (the
    /// cause written or removed), then `IntegrationEnd`, all with the status
    /// or nothing, and `marks` as [`Self::transition`] sets them.
    async fn finish(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        to: IntegrationStatus,
        output: &[ItemChange],
        cause: ItemChange,
        marks: &[(&str, AttributeValue)],
    ) -> Result<Transition, StoreError> {
        // One instant for IntegrationEnd and EndedAt, so a repair that puts
        // IntegrationEnd back from EndedAt writes what was there.
        let now = self.clock.now();
        let mut changes = output.to_vec();
        changes.push(cause);
        changes.push(ItemChange::put(INTEGRATION_END, format_rules_engine(now)));
        let to = (to, sources::FINISH);
        self.transition_at(contact_id, run, to, changes, marks, now)
            .await
    }

    /// The one conditional write behind every transition: the status item moves to
    /// `to` only if it names `run` (`None`: a run written without a run id) and is
    /// in one of `from`; the other changes land with it or not at all. `marks`
    /// (attribute, value) are set on the status item too, so a reader of the
    /// stream can tell who made the transition.
    async fn transition(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        to: IntegrationStatus,
        from: &[IntegrationStatus],
        changes: Vec<ItemChange>,
        marks: &[(&str, AttributeValue)],
    ) -> Result<Transition, StoreError> {
        let now = self.clock.now();
        self.transition_at(contact_id, run, (to, from), changes, marks, now)
            .await
    }

    /// [`Self::transition`] at `now`: `to` from one of the statuses given.
    async fn transition_at(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        (to, from): (IntegrationStatus, &[IntegrationStatus]),
        changes: Vec<ItemChange>,
        marks: &[(&str, AttributeValue)],
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let status = self.status_update(contact_id, run, to, from, marks, now);
        let mut items = vec![TransactWriteItem::builder().update(status).build()];
        for change in &changes {
            items.push(self.change_item(contact_id, change, now)?);
        }
        match self.transact(contact_id, items).await? {
            Ok(()) => Ok(Transition::Applied),
            Err(Refused {
                current: Some(item),
            }) => {
                let current = status_item(contact_id, item)?;
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

    /// The conditional update of the status item behind a transition: to `to`
    /// from one of `from`, only if it names `run`, with `marks` set; leaving the
    /// pending-runs index when `to` is terminal.
    fn status_update(
        &self,
        contact_id: &ContactId,
        run: Option<&RunId>,
        to: IntegrationStatus,
        from: &[IntegrationStatus],
        marks: &[(&str, AttributeValue)],
        now: DateTime<Utc>,
    ) -> aws_sdk_dynamodb::types::Update {
        let mut update = Update::default()
            .set(table::VALUE, text(to.as_str()))
            .set(table::EXPIRY, number(self.expiry(now)));
        for (name, value) in marks {
            update = update.set(name, value.clone());
        }
        if to.is_terminal() {
            // Leaving the pending-runs index is part of finishing.
            update = update
                .set(table::ENDED_AT, number(to_epoch_ms(now)))
                .remove(table::PENDING_SHARD);
        }
        let from = from.iter().map(|status| text(status.as_str())).collect();
        let update = update
            .only_if(table::RUN_ID, run.map(|id| text(id.as_str())))
            .only_if_one_of(table::VALUE, from);
        at_status_item!(
            aws_sdk_dynamodb::types::Update::builder(),
            self,
            contact_id,
            update
        )
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .expect("table, key and update expression are set")
    }

    /// Runs a transaction whose first item carries the only condition. Collisions
    /// with concurrent transactions are tried again; a refused condition comes back
    /// as `Err(Refused)` with the first item as it was, when DynamoDB returned it.
    pub(super) async fn transact(
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
}

/// A refused condition, with the conditioned item as it was when DynamoDB returned it.
pub(super) struct Refused {
    current: Option<Item>,
}

/// A transaction refused for a condition: the first item's, which is the
/// only one a run transition sets, or another's (a repair's guards).
fn refusal(reasons: &[CancellationReason]) -> Option<Refused> {
    let failed = |r: &CancellationReason| r.code() == Some("ConditionalCheckFailed");
    if !reasons.iter().any(failed) {
        return None;
    }
    let first = reasons.first().filter(|r| failed(r));
    Some(Refused {
        current: first.and_then(|r| r.item.clone()),
    })
}
