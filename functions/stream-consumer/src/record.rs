//! Reading one stream record and deciding what it is about, without touching
//! DynamoDB: pure, so every case is a unit test.
//!
//! Records are read leniently, one at a time, so a record the SDK types cannot
//! read is "malformed" on its own and never takes its batch down with it.
//!
//! (Over 400 lines, not split by concern here: the consumer's read → decide →
//! act redesign, the issue "The stream consumer reads, decides once, and
//! acts", replaces this module's decisions with one decision table; a split
//! now would move code that redesign deletes.)

use std::time::Duration;

use crate::stamp::{MEASURED_BY, MEASURED_RUNS};
use aws_lambda_events::event::dynamodb::EventRecord;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use shared::{
    keys::{INTEGRATION_STATUS, SWEEP},
    telemetry::{json_values, without_values},
    time::from_epoch_ms,
    ContactId, IntegrationStatus, RunId,
};

/// The status item as a stream image shows it. Other attributes are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusImage {
    pub status: IntegrationStatus,
    pub run_id: Option<RunId>,
    pub started_at: Option<DateTime<Utc>>,
    pub deadline: Option<i64>,
    pub function_name: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub measured: bool,
    pub measured_runs: Vec<String>,
    pub swept: bool,
    /// The TTL the write set (epoch seconds): with the status, what tells one
    /// put of an older writer from the next.
    pub expiry: Option<i64>,
    /// The stream consumer's repair wrote this image.
    pub repaired: bool,
    /// The cause of an `ERROR`, as the status item keeps it.
    pub cause: Option<String>,
    /// Nothing but `ContactId`, `What`, `Value` and `Expiry`: a bare put, as
    /// the original Rules Engine writes (never one of this project's writes,
    /// which carry run attributes, or marks on the item).
    pub bare: bool,
    /// A bare put with at most the consumer's measure marks added since.
    pub marked_put: bool,
    /// The older writers' late puts the consumer undid on this item
    /// (`<status>@<expiry>`), so their own records are known as undone.
    pub undone: Vec<String>,
}

impl StatusImage {
    /// What this image's put is known by in [`StatusImage::undone`].
    pub fn put_key(&self) -> String {
        format!("{}@{}", self.status, self.expiry.unwrap_or_default())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawImage {
    value: String,
    run_id: Option<String>,
    started_at: Option<i64>,
    deadline: Option<i64>,
    function_name: Option<String>,
    ended_at: Option<i64>,
    measured_at: Option<i64>,
    #[serde(default)]
    measured_runs: Vec<String>,
    timed_out_by: Option<String>,
    expiry: Option<i64>,
    repaired_at: Option<i64>,
    cause: Option<String>,
    #[serde(default)]
    undone_puts: Vec<String>,
}

/// A run that finished with this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The run id the status item holds for this completion (`None` for older writers).
    pub item_run: Option<RunId>,
    /// The run's identity: from the new image, else the old one.
    pub run_id: Option<RunId>,
    /// What the run is known by in `MeasuredRuns`.
    pub key: String,
    pub status: IntegrationStatus,
    pub function_name: Option<String>,
    pub duration: Option<Duration>,
    /// Timed out by the abandoned-run sweep rather than by check-timeout.
    pub swept: bool,
}

/// An open run that a new `START` replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superseded {
    pub run_id: Option<RunId>,
    pub key: String,
    pub function_name: Option<String>,
}

/// What a record is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Another state key of a contact.
    Unrelated,
    /// A record of another table (another stream mapped to the consumer by
    /// mistake, or a replay of the wrong file).
    OtherTable,
    /// The metrics stamp's own write.
    Stamp,
    /// The status item was deleted (TTL or otherwise).
    Removed,
    Completion(Completion),
    /// A new run replaced the item: maybe an open run abandoned, and the measured
    /// runs the old item knew, to carry over.
    Replaced {
        superseded: Option<Superseded>,
        carry: Vec<String>,
    },
    /// A put without run attributes: an integration function (or start)
    /// written for the original Rules Engine, or one of ours on such a run.
    // Boxed: it holds two images and the old item whole.
    Older(Box<OlderWrite>),
    /// The consumer's own repair of an older writer's put.
    Repair,
    /// Any other change of the status item (open to open, a mark being added).
    Other,
}

/// What a write without run attributes did, by what it replaced.
#[derive(Debug, Clone, PartialEq)]
pub enum OlderWrite {
    /// It landed on a finished run, whose status the caller was told: a late
    /// finish (or a late `RUN`) to undo. `told_item` is the status item as it
    /// was, every attribute, to put back.
    Late {
        told: StatusImage,
        told_item: shared::store::Item,
        late: StatusImage,
    },
    /// It replaced an open run that named itself (the original's `RUN` over
    /// our `START`, or its finish over a run whose identity we put back):
    /// the identity to put back, and the write, maybe a completion.
    Stripped {
        run: StatusImage,
        write: StatusImage,
    },
    /// A run that never named itself finished (opened by an older start, or
    /// stripped before its identity could be put back): a completion to
    /// measure from what the state holds.
    /// `over` is the image it replaced, if any.
    Unnamed {
        write: StatusImage,
        over: Option<StatusImage>,
    },
}

/// A record read: its sequence number, when it was written, whose it is, and what about.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub sequence: String,
    pub created: Option<DateTime<Utc>>,
    pub contact_id: Option<ContactId>,
    pub change: Change,
}

/// A record that cannot be read; skipped, never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed stream record {sequence}: {reason}")]
pub struct Malformed {
    pub sequence: String,
    pub reason: String,
}

/// Reads one record of a stream event as Lambda delivers it.
pub fn read(raw: &Value) -> Result<Record, Malformed> {
    let change = &raw["dynamodb"];
    let sequence = change["SequenceNumber"]
        .as_str()
        .unwrap_or("(no sequence number)")
        .to_owned();
    let malformed = |reason: String| Malformed {
        sequence: sequence.clone(),
        reason,
    };
    // Lambda writes epoch seconds, with a fraction on AWS, whole minutes on DynamoDB Local.
    let created = change["ApproximateCreationDateTime"]
        .as_f64()
        .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0) as i64));
    let unrelated = |change: Change| Record {
        sequence: sequence.clone(),
        created,
        contact_id: None,
        change,
    };
    if !of_table(change) {
        return Ok(unrelated(Change::OtherTable));
    }
    // The cheap test first: most records of the table are other state keys.
    if change["Keys"]["What"]["S"].as_str() != Some(INTEGRATION_STATUS) {
        return Ok(unrelated(Change::Unrelated));
    }
    // serde's messages quote the value they could not read: cut the record's
    // values out of them, as any of them may be personal data.
    let reason = |err: &dyn std::fmt::Display| {
        let values = json_values(raw);
        without_values(&err.to_string(), values.iter().map(String::as_str))
    };
    let record: EventRecord =
        serde_json::from_value(raw.clone()).map_err(|err| malformed(reason(&err)))?;
    let keys = &record.change.keys;
    let contact_id = match keys.get(shared::table::CONTACT_ID) {
        Some(serde_dynamo::AttributeValue::S(id)) => ContactId::parse(id.as_str())
            .map_err(|err| malformed(format!("its ContactId is invalid: {err}")))?,
        _ => return Err(malformed("its Keys have no string ContactId".into())),
    };
    let image =
        |item: &serde_dynamo::Item, which: &str| -> Result<Option<StatusImage>, Malformed> {
            if item.is_empty() {
                return Ok(None);
            }
            status_image(item.clone(), &reason)
                .map(Some)
                .map_err(|err| malformed(format!("its {which} image: {err}")))
        };
    let change = match image(&record.change.new_image, "new")? {
        None => Change::Removed,
        Some(new) => {
            let old = image(&record.change.old_image, "old")?;
            classify(new, old, &record.change.old_image, &sequence, created)
        }
    };
    Ok(Record {
        sequence,
        created,
        contact_id: Some(contact_id),
        change,
    })
}

/// Whether a record is the state table's: its keys are the table's two
/// strings, `ContactId` and `What`. DynamoDB holds every item of the table to
/// them, so a record without them is another table's (a stream mapped to the
/// consumer by mistake, a replay of the wrong file), not a malformed record.
fn of_table(change: &Value) -> bool {
    let is_string = |key: &str| change["Keys"][key]["S"].is_string();
    let keys = change["Keys"].as_object().map_or(0, |keys| keys.len());
    keys == 2 && is_string(shared::table::CONTACT_ID) && is_string(shared::table::WHAT)
}

/// The status item of an image. `reason` words serde's errors; the others
/// (an unknown status, a bad run id) never quote more than a status word.
pub(crate) fn status_image(
    item: serde_dynamo::Item,
    reason: &dyn Fn(&dyn std::fmt::Display) -> String,
) -> Result<StatusImage, String> {
    let only = |names: &[&str]| item.keys().all(|name| names.contains(&name.as_str()));
    use shared::table::{CONTACT_ID, EXPIRY, VALUE, WHAT};
    let put = [CONTACT_ID, WHAT, VALUE, EXPIRY];
    let bare = only(&put);
    let marked_put = only(&[&put[..], &[MEASURED_RUNS, MEASURED_BY]].concat());
    let raw: RawImage = serde_dynamo::from_item(item).map_err(|err| reason(&err))?;
    Ok(StatusImage {
        status: raw
            .value
            .parse()
            .map_err(|err: shared::status::UnknownStatus| err.to_string())?,
        run_id: raw
            .run_id
            .map(RunId::parse)
            .transpose()
            .map_err(|err| err.to_string())?,
        started_at: raw.started_at.and_then(from_epoch_ms),
        deadline: raw.deadline,
        function_name: raw.function_name,
        ended_at: raw.ended_at.and_then(from_epoch_ms),
        measured: raw.measured_at.is_some(),
        measured_runs: raw.measured_runs,
        swept: raw.timed_out_by.as_deref() == Some(SWEEP),
        expiry: raw.expiry,
        repaired: raw.repaired_at.is_some(),
        cause: raw.cause,
        bare,
        marked_put,
        undone: raw.undone_puts,
    })
}

/// What a write without run attributes did, by what it replaced; `None` for
/// one that neither replaced a finished or named run nor finished one.
fn older_write(
    new: StatusImage,
    old: Option<StatusImage>,
    old_item: &serde_dynamo::Item,
) -> Option<OlderWrite> {
    match old {
        // The original check-timeout writes TIMEOUT over whatever is there once
        // the deadline has passed, and answers TIMEOUT: what the caller was told.
        Some(told) if told.status.is_terminal() && new.status == IntegrationStatus::Timeout => None,
        Some(told) if told.status.is_terminal() => Some(OlderWrite::Late {
            told,
            told_item: old_item.clone().into(),
            late: new,
        }),
        Some(run) if run.run_id.is_some() => Some(OlderWrite::Stripped { run, write: new }),
        over if new.status.is_terminal() => Some(OlderWrite::Unnamed { write: new, over }),
        _ => None,
    }
}

/// The key of a run in `MeasuredRuns`: its id, or for a run written without one
/// the sequence number of the record that shows it, which replays keep.
pub(crate) fn run_key(run: Option<&RunId>, sequence: &str) -> String {
    match run {
        Some(id) => id.to_string(),
        None => format!("record:{sequence}"),
    }
}

fn classify(
    new: StatusImage,
    old: Option<StatusImage>,
    old_item: &serde_dynamo::Item,
    sequence: &str,
    created: Option<DateTime<Utc>>,
) -> Change {
    if new.measured {
        return Change::Stamp;
    }
    let old_unnamed = old.as_ref().is_some_and(|old| old.run_id.is_none());
    if new.repaired && old_unnamed {
        return Change::Repair;
    }
    // A new START is a new run, whoever wrote it: handled below.
    if new.run_id.is_none() && new.status != IntegrationStatus::Start {
        let old_unnamed_open = old
            .as_ref()
            .is_none_or(|old| old.status.is_open() && old.run_id.is_none());
        let older = if new.bare {
            older_write(new.clone(), old.clone(), old_item)
        } else if new.status.is_terminal() && old_unnamed_open {
            // One of ours finished a run that never named itself.
            Some(OlderWrite::Unnamed {
                write: new.clone(),
                over: old.clone(),
            })
        } else {
            // The consumer's marks on an item without a run id, and the like.
            None
        };
        if let Some(write) = older {
            return Change::Older(Box::new(write));
        }
    }
    let old_open = old.as_ref().is_none_or(|old| old.status.is_open());
    if new.status.is_terminal() && old_open {
        let run_id = new
            .run_id
            .clone()
            .or_else(|| old.as_ref().and_then(|o| o.run_id.clone()));
        let started = new
            .started_at
            .or_else(|| old.as_ref().and_then(|o| o.started_at));
        // Older writers set no EndedAt: the record's time is the best end there is.
        let ended = new.ended_at.or(created);
        let duration = match (started, ended) {
            (Some(start), Some(end)) => (end - start).to_std().ok(),
            _ => None,
        };
        return Change::Completion(Completion {
            key: run_key(run_id.as_ref(), sequence),
            item_run: new.run_id,
            run_id,
            status: new.status,
            function_name: new
                .function_name
                .or_else(|| old.and_then(|o| o.function_name)),
            duration,
            swept: new.swept,
        });
    }
    match old {
        // A bare START is the original start's new run, even over one of its own.
        Some(old)
            if new.status == IntegrationStatus::Start
                && (old.run_id != new.run_id || (new.bare && new.run_id.is_none())) =>
        {
            let superseded = old.status.is_open().then(|| Superseded {
                key: run_key(old.run_id.as_ref(), sequence),
                run_id: old.run_id,
                function_name: old.function_name,
            });
            Change::Replaced {
                superseded,
                carry: old.measured_runs,
            }
        }
        _ => Change::Other,
    }
}

#[cfg(test)]
mod tests;
