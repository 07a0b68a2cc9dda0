//! The one executor: carries out what [`decide`] decided about a record of the
//! status item, through the store's typed writes. When the decision needs the
//! contact as it stands now, it reads it; when a guarded repair is refused
//! because the item moved, it reads again and decides again, at most
//! [`ATTEMPTS`] times.

use std::time::Duration;

use shared::{
    keys::INTEGRATION_STRIPPED_RUN,
    store::{ContactNow, Mark, Patience, Stamp, StampRequest},
    ContactId, ItemChange, StoreError,
};

use crate::{
    batch::Outcome,
    decide::{decide, Completion, Decision, Seen, Superseded},
    emit, Consumer,
};

/// How often a repair is tried after the item moved under it.
const ATTEMPTS: u32 = 3;

/// The longest pause between two attempts of a stamp or a mark: long enough
/// for a throttled table to recover, short enough that a batch is not held
/// long after DynamoDB answers again.
const LONGEST_PAUSE: Duration = Duration::from_secs(4);

impl Consumer {
    /// Decides what `seen` (a record of `contact`'s status item, nothing read
    /// since) means, and does it.
    pub(crate) async fn act(
        &self,
        contact: &ContactId,
        seen: Seen<'_>,
    ) -> Result<Outcome, StoreError> {
        let mut now: Option<ContactNow> = None;
        let mut refused = 0;
        loop {
            // What is measured anyway if the state keeps moving under a repair.
            let mut fallback = None;
            let at = self.store.clock().now();
            match decide(&Seen {
                now: now.as_ref(),
                at,
                ..seen
            }) {
                Decision::Ignore(why) => return Ok(Outcome::Ignored(why)),
                Decision::Read => {
                    now = Some(self.store.contact_now(contact).await?);
                    continue;
                }
                Decision::Measure(run) => return self.complete(contact, &run).await,
                Decision::Carry { superseded, carry } => {
                    return self.carry(contact, superseded.as_ref(), &carry).await
                }
                Decision::KeepAside(kept) => {
                    let aside = ItemChange::put(INTEGRATION_STRIPPED_RUN, kept);
                    self.store.write(contact, &[aside]).await?;
                    return Ok(Outcome::Ignored(
                        "a later finish past the deadline, left to its own record (the run's identity kept aside for it)",
                    ));
                }
                Decision::Restore { restore, then } => {
                    if self.store.restore(contact, &restore).await? {
                        let run = restore.run.run_id.as_ref().map(|id| id.as_str());
                        tracing::info!(contact_id = %contact, run, "RUN_IDENTITY_RESTORED");
                        return match then {
                            Some(completion) => self.complete(contact, &completion).await,
                            None => Ok(Outcome::Restored),
                        };
                    }
                    fallback = then;
                }
                Decision::Undo { undo, finish } => {
                    if self.store.undo(contact, &undo).await? {
                        let run = undo.told.run_id.as_ref().map(|id| id.as_str());
                        let (late, told) = (undo.late.status, undo.told.status);
                        tracing::warn!(contact_id = %contact, run, %late, %told, "LATE_WRITE_UNDONE");
                        if let Some(finish) = &finish {
                            self.emit(emit::late_finish(self.store.clock().now(), contact, finish));
                        }
                        return Ok(Outcome::LateUndone { late });
                    }
                }
            }
            // A guarded repair was refused: the item moved since it was read.
            refused += 1;
            if refused == ATTEMPTS {
                return match fallback {
                    Some(completion) => self.complete(contact, &completion).await,
                    None => Ok(Outcome::Ignored(
                        "the state kept moving; the legacy write was left",
                    )),
                };
            }
            now = Some(self.store.contact_now(contact).await?);
        }
    }

    /// Stamps a finished run on its item (or, when a newer run holds the
    /// item, marks it there) and measures it if this delivery did.
    pub(crate) async fn complete(
        &self,
        contact: &ContactId,
        run: &Completion,
    ) -> Result<Outcome, StoreError> {
        let request = StampRequest {
            item_run: run.item_run.as_ref(),
            status: run.status,
            key: &run.key,
            duration: run.duration,
        };
        let patience = self.patience();
        let stamped = match self
            .store
            .stamp_measured(contact, &request, patience)
            .await?
        {
            Stamp::Stamped => true,
            Stamp::AlreadyMeasured => return Ok(Outcome::AlreadyMeasured),
            Stamp::Gone => false,
            // A newer run holds the item: record the measure there.
            Stamp::NotCurrent => match self
                .store
                .mark_measured(contact, &run.key, patience)
                .await?
            {
                Mark::Marked => true,
                Mark::AlreadyMarked => return Ok(Outcome::AlreadyMeasured),
                Mark::Gone => false,
            },
        };
        let now = self.store.clock().now();
        Ok(if run.swept {
            let function = run.function_name.as_deref();
            let run_id = run.run_id.as_ref();
            self.emit(emit::abandoned(
                now,
                contact,
                run_id,
                function,
                emit::DEADLINE,
            ));
            Outcome::AbandonedPastDeadline
        } else {
            self.emit(emit::completion(now, contact, run));
            Outcome::Measured {
                status: run.status,
                stamped,
            }
        })
    }

    /// A new run replaced the item: the open run it replaced counted once
    /// (marked before the carry, so a retry after a failed carry finds the
    /// mark), then the measured runs carried over.
    async fn carry(
        &self,
        contact: &ContactId,
        superseded: Option<&Superseded>,
        carry: &[String],
    ) -> Result<Outcome, StoreError> {
        let mut outcome = Outcome::Ignored("a new run replaced a finished one");
        if let Some(old) = superseded {
            let mark = self
                .store
                .mark_measured(contact, &old.key, self.patience())
                .await?;
            outcome = match mark {
                Mark::Marked | Mark::Gone => {
                    let (run, function) = (old.run_id.as_ref(), old.function_name.as_deref());
                    let now = self.store.clock().now();
                    self.emit(emit::abandoned(
                        now,
                        contact,
                        run,
                        function,
                        emit::SUPERSEDED,
                    ));
                    Outcome::AbandonedSuperseded
                }
                Mark::AlreadyMarked => Outcome::AlreadyMeasured,
            };
        }
        self.store.carry_measured(contact, carry).await?;
        Ok(outcome)
    }

    fn patience(&self) -> Patience {
        Patience {
            for_at_most: self.config.measure_patience,
            longest_pause: LONGEST_PAUSE,
        }
    }
}
