//! A stream batch, each contact's records in order and different contacts side
//! by side: what each record came to, and the batch item failure when one
//! failed for a reason worth retrying.

use std::{collections::HashMap, fmt};

use futures_util::{stream, StreamExt};
use serde_json::Value;
use shared::{ContactId, IntegrationStatus};

use crate::{
    decide::Seen,
    emit,
    record::{self, Change},
    Consumer,
};

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
    /// A legacy put had taken an open run's identity away; it is back.
    Restored,
    /// A legacy put landed after the caller was told the run's status;
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
            Outcome::Restored => f.write_str("the run's identity put back after a legacy put"),
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
            (Change::Status { old, new }, Some(contact)) => {
                let seen = Seen {
                    old: old.as_deref(),
                    new,
                    sequence: &record.sequence,
                    created: record.created,
                    now: None,
                    at: self.store.clock().now(),
                };
                let run = new
                    .run_id
                    .as_ref()
                    .or(old.as_ref().and_then(|o| o.run_id.as_ref()));
                (self.act(contact, seen).await, run.map(|id| id.to_string()))
            }
            (Change::OtherTable, _) => (Ok(Outcome::Ignored("another table's record")), None),
            (Change::Removed, _) => (Ok(Outcome::Ignored("status item removed")), None),
            // A status record always names its contact (`read` refuses one without).
            (Change::Unrelated | Change::Status { .. }, _) => {
                (Ok(Outcome::Ignored("not the integration status")), None)
            }
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
}
