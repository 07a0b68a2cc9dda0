//! A stream batch, each contact's records in order and different contacts side
//! by side: what each record came to, and the batch item failure when one
//! failed for a reason worth retrying.

use std::{collections::HashMap, fmt, time::Duration};

use futures_util::{stream, StreamExt};
use serde_json::Value;
use shared::{store::Patience, ContactId, IntegrationStatus, RunId, StoreError};

use crate::{
    emit,
    record::{self, Change, Completion, OlderWrite, Superseded},
    stamp::{Mark, Stamp, StampRequest, Stamps},
    Consumer,
};

/// The longest pause between two attempts of a stamp or a mark: long enough
/// for a throttled table to recover, short enough that a batch is not held
/// long after DynamoDB answers again.
const LONGEST_PAUSE: Duration = Duration::from_secs(4);

/// What the consumer did with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The run was measured by this delivery; `stamped` is false when its status
    /// item was gone, so nothing could record it.
    Measured {
        status: IntegrationStatus,
        stamped: bool,
    },
    /// A run timed out by the sweep, counted as abandoned by this delivery.
    AbandonedPastDeadline,
    /// An open run replaced by a new START, counted as abandoned by this delivery.
    AbandonedSuperseded,
    /// Already measured or counted by an earlier delivery.
    AlreadyMeasured,
    /// An older writer's put had taken an open run's identity away; it is back.
    Adopted,
    /// An older writer's put landed after the caller was told the run's status;
    /// undone, the told status back.
    LateUndone {
        late: IntegrationStatus,
    },
    /// Nothing to measure; why.
    Ignored(&'static str),
    Malformed(String),
    /// Failed for a reason worth retrying: reported as the batch item failure.
    Failed(String),
    /// Failed for a reason not worth retrying: logged and skipped.
    Skipped(String),
    /// After a failed record of the same contact: left for the retry.
    NotProcessed,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Measured {
                status,
                stamped: true,
            } => write!(f, "measured {status}"),
            Outcome::Measured {
                status,
                stamped: false,
            } => {
                write!(f, "measured {status} (status item gone, not stamped)")
            }
            Outcome::AbandonedPastDeadline => f.write_str("abandoned (timed out by the sweep)"),
            Outcome::AbandonedSuperseded => f.write_str("abandoned (superseded by a new run)"),
            Outcome::AlreadyMeasured => f.write_str("already measured"),
            Outcome::Adopted => {
                f.write_str("the run's identity put back after an older writer's put")
            }
            Outcome::LateUndone { late } => write!(f, "a late {late} undone"),
            Outcome::Ignored(why) => write!(f, "ignored ({why})"),
            Outcome::Malformed(why) => write!(f, "malformed: {why}"),
            Outcome::Failed(why) => write!(f, "failed, to be retried: {why}"),
            Outcome::Skipped(why) => write!(f, "failed, skipped: {why}"),
            Outcome::NotProcessed => {
                f.write_str("not processed (after a failure of the same contact)")
            }
        }
    }
}

/// One record's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    pub sequence: String,
    pub contact_id: Option<ContactId>,
    /// The run's key (its id, or `record:<sequence>` for a run without one).
    pub run: Option<String>,
    pub outcome: Outcome,
}

impl Consumer {
    /// Processes the records of one stream event: each contact's records in
    /// order, different contacts' side by side (at most
    /// [`ConsumerConfig::contacts_at_once`](crate::ConsumerConfig) at once), so
    /// one slow write holds up its own contact only. A contact's records stop
    /// at its first that fails for a reason worth retrying; its later ones are
    /// left for the retry. The reports are in the batch's order.
    pub async fn process_records(&self, records: &[Value]) -> Vec<RecordReport> {
        let mut reports: Vec<Option<RecordReport>> = vec![None; records.len()];
        // Each contact's records, by position in the batch, in order.
        let mut contacts: Vec<Vec<(usize, record::Record)>> = Vec::new();
        let mut by_contact: HashMap<ContactId, usize> = HashMap::new();
        let mut oldest: Option<chrono::DateTime<chrono::Utc>> = None;
        let mut malformed = 0;
        for (position, raw) in records.iter().enumerate() {
            let record = match record::read(raw) {
                Ok(record) => record,
                Err(bad) => {
                    malformed += 1;
                    tracing::warn!(sequence = %bad.sequence, reason = %bad.reason, "MALFORMED_RECORD");
                    reports[position] = Some(RecordReport {
                        sequence: bad.sequence,
                        contact_id: None,
                        run: None,
                        outcome: Outcome::Malformed(bad.reason),
                    });
                    continue;
                }
            };
            oldest = match (oldest, record.created) {
                (Some(seen), Some(this)) => Some(seen.min(this)),
                (seen, this) => seen.or(this),
            };
            match &record.contact_id {
                Some(contact) => {
                    let group = *by_contact.entry(contact.clone()).or_insert_with(|| {
                        contacts.push(Vec::new());
                        contacts.len() - 1
                    });
                    contacts[group].push((position, record));
                }
                // No contact, nothing to write: what it is needs no request.
                None => reports[position] = Some(self.process_record(record).await),
            }
        }
        let mut worked = stream::iter(contacts)
            .map(|records| self.process_contact(records))
            .buffer_unordered(self.config.contacts_at_once.max(1));
        while let Some(done) = worked.next().await {
            for (position, report) in done {
                reports[position] = Some(report);
            }
        }
        let now = self.store.clock().now();
        if let Some(lag) = oldest.and_then(|oldest| (now - oldest).to_std().ok()) {
            self.emit(emit::stream_lag(now, lag));
        }
        if malformed > 0 {
            self.emit(emit::malformed(now, malformed));
        }
        reports
            .into_iter()
            .map(|report| report.expect("every record of the batch is reported"))
            .collect()
    }

    /// One contact's records, in order, until one fails for a reason worth
    /// retrying; the rest are left for the retry.
    async fn process_contact(
        &self,
        records: Vec<(usize, record::Record)>,
    ) -> Vec<(usize, RecordReport)> {
        let mut reports = Vec::with_capacity(records.len());
        let mut failed = false;
        for (position, record) in records {
            let report = if failed {
                RecordReport {
                    sequence: record.sequence,
                    contact_id: record.contact_id,
                    run: None,
                    outcome: Outcome::NotProcessed,
                }
            } else {
                self.process_record(record).await
            };
            failed = failed || matches!(report.outcome, Outcome::Failed(_));
            reports.push((position, report));
        }
        reports
    }

    async fn process_record(&self, record: record::Record) -> RecordReport {
        let (outcome, run) = match (&record.change, &record.contact_id) {
            (Change::Completion(completion), Some(contact)) => (
                self.complete(contact, completion).await,
                Some(completion.key.clone()),
            ),
            (Change::Replaced { superseded, carry }, Some(contact)) => (
                self.replaced(contact, superseded.as_ref(), carry).await,
                superseded.as_ref().map(|s| s.key.clone()),
            ),
            (Change::Older(write), Some(contact)) => (
                self.older(contact, write, &record.sequence, record.created)
                    .await,
                older_run(write),
            ),
            (Change::Repair, _) => (Ok(Outcome::Ignored("the consumer's own repair")), None),
            (Change::OtherTable, _) => (Ok(Outcome::Ignored("another table's record")), None),
            (Change::Unrelated, _) => (Ok(Outcome::Ignored("not the integration status")), None),
            (Change::Stamp, _) => (Ok(Outcome::Ignored("the metrics stamp's own write")), None),
            (Change::Removed, _) => (Ok(Outcome::Ignored("status item removed")), None),
            _ => (Ok(Outcome::Ignored("no run finished or replaced")), None),
        };
        let outcome = outcome.unwrap_or_else(|err| {
            let reason = shared::telemetry::error_chain(&err);
            if err.is_retryable() {
                tracing::warn!(sequence = %record.sequence, reason = %reason, "RECORD_FAILED_RETRYING");
                Outcome::Failed(reason)
            } else {
                tracing::error!(sequence = %record.sequence, reason = %reason, "RECORD_FAILED_SKIPPED");
                Outcome::Skipped(reason)
            }
        });
        if let (
            Some(contact),
            Outcome::Measured { .. }
            | Outcome::AbandonedPastDeadline
            | Outcome::AbandonedSuperseded
            | Outcome::LateUndone { .. },
        ) = (&record.contact_id, &outcome)
        {
            tracing::info!(contact_id = %contact, run = run.as_deref(), sequence = %record.sequence, outcome = %outcome, "RUN_MEASURED");
        }
        RecordReport {
            sequence: record.sequence,
            contact_id: record.contact_id,
            run,
            outcome,
        }
    }

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
        let stamped = match self
            .store
            .stamp_measured(contact, &request, self.patience())
            .await?
        {
            Stamp::Stamped => true,
            Stamp::AlreadyMeasured => return Ok(Outcome::AlreadyMeasured),
            Stamp::Gone => false,
            // A newer run holds the item: record the measure there.
            Stamp::NotCurrent => match self
                .store
                .mark_measured(contact, &run.key, self.patience())
                .await?
            {
                Mark::Marked => true,
                Mark::AlreadyMarked => return Ok(Outcome::AlreadyMeasured),
                Mark::Gone => false,
            },
        };
        Ok(if run.swept {
            let function = run.function_name.as_deref();
            self.emit_abandoned(contact, run.run_id.as_ref(), function, emit::DEADLINE);
            Outcome::AbandonedPastDeadline
        } else {
            self.emit(emit::completion(self.store.clock().now(), contact, run));
            Outcome::Measured {
                status: run.status,
                stamped,
            }
        })
    }

    async fn replaced(
        &self,
        contact: &ContactId,
        superseded: Option<&Superseded>,
        carry: &[String],
    ) -> Result<Outcome, StoreError> {
        let mut outcome = Outcome::Ignored("a new run replaced a finished one");
        if let Some(old) = superseded {
            // Counted before the carry, so a retry after a failed carry finds the
            // mark and does not count the run again.
            outcome = match self
                .store
                .mark_measured(contact, &old.key, self.patience())
                .await?
            {
                Mark::Marked | Mark::Gone => {
                    let function = old.function_name.as_deref();
                    self.emit_abandoned(contact, old.run_id.as_ref(), function, emit::SUPERSEDED);
                    Outcome::AbandonedSuperseded
                }
                Mark::AlreadyMarked => Outcome::AlreadyMeasured,
            };
        }
        self.store.carry_measured(contact, carry).await?;
        Ok(outcome)
    }

    pub(crate) fn patience(&self) -> Patience {
        Patience {
            for_at_most: self.config.measure_patience,
            longest_pause: LONGEST_PAUSE,
        }
    }

    fn emit_abandoned(
        &self,
        contact: &ContactId,
        run: Option<&RunId>,
        function: Option<&str>,
        reason: &'static str,
    ) {
        let now = self.store.clock().now();
        self.emit(emit::abandoned(now, contact, run, function, reason));
    }
}

/// The run an older writer's record is about, for the report: the one it
/// stripped or landed late on, when that run named itself.
fn older_run(write: &OlderWrite) -> Option<String> {
    let run = match write {
        OlderWrite::Stripped { run, .. } => run,
        OlderWrite::Late { told, .. } => told,
        OlderWrite::Unnamed { .. } => return None,
    };
    run.run_id.as_ref().map(|id| id.to_string())
}
