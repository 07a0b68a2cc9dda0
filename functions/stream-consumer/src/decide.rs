//! What a record of the status item means, decided once, without touching
//! DynamoDB: [`decide`] takes what the consumer read (the record's two images
//! and, where the meaning depends on it, the contact as it stands now) and
//! returns one [`Decision`]. Its branches are the rows of the table in
//! docs/design.md ("What a record is about"), in that order.
//!
//! A legacy put (a bare put by an integration function written for the Rules
//! Engine) can only be repaired on what stands now: the first decision on it
//! is [`Decision::Read`], and the executor ([`crate::act`]) decides again with
//! the contact read, and again after a repair the item moved under.

mod legacy;

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::{
    store::{ContactNow, Restore, Undo},
    IntegrationStatus::{self, Start, Timeout},
    RunId, StatusItem,
};

/// What the consumer read: one record's images, and what stands now, once read.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub old: Option<&'a StatusItem>,
    pub new: &'a StatusItem,
    pub sequence: &'a str,
    /// When the record was written.
    pub created: Option<DateTime<Utc>>,
    /// The contact as it stands now, once read.
    pub now: Option<&'a ContactNow>,
    /// The clock's time.
    pub at: DateTime<Utc>,
}

/// What to do about one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Ignore(&'static str),
    /// Read the contact as it stands now, then decide again.
    Read,
    /// A run finished: stamp and measure it.
    Measure(Completion),
    /// A new run replaced the item: count the open run it replaced as
    /// abandoned, and carry the measured runs the old item knew over.
    Carry {
        superseded: Option<Superseded>,
        carry: Vec<String>,
    },
    /// Put back the identity a legacy put took from an open run; then
    /// measure the run, if the put finished it.
    Restore {
        restore: Box<Restore>,
        then: Option<Completion>,
    },
    /// Keep a stripped run's identity aside (JSON text) for the record of the
    /// finish that followed its legacy put.
    KeepAside(String),
    /// Undo a late legacy put; count it when it was a finish.
    Undo {
        undo: Box<Undo>,
        finish: Option<LateFinish>,
    },
}

/// A run that finished with this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The run id the status item holds for this completion (`None` for legacy puts).
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

/// A late legacy finish, undone: what its metric says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateFinish {
    pub run: Option<RunId>,
    pub function_name: Option<String>,
    pub late: IntegrationStatus,
    pub told: IntegrationStatus,
    /// When the late writer finished (its `IntegrationEnd`), if it says.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The key of a run in `MeasuredRuns`: its id, or for a run written without one
/// the sequence number of the record that shows it, which replays keep.
pub fn run_key(run: Option<&RunId>, sequence: &str) -> String {
    match run {
        Some(id) => id.to_string(),
        None => format!("record:{sequence}"),
    }
}

/// What `seen` means; the rows of docs/design.md's table, in order.
pub fn decide(seen: &Seen) -> Decision {
    use legacy::{late, stripped, unnamed};
    let (old, new) = (seen.old, seen.new);
    if new.measured_at.is_some() {
        return Decision::Ignore("the metrics stamp's own write");
    }
    if new.repaired_at.is_some() && old.is_some_and(|old| old.run_id.is_none()) {
        return Decision::Ignore("the consumer's own repair");
    }
    if new.run_id.is_none() && new.status != Start {
        let unnamed_open = old.is_none_or(|old| old.status.is_open() && old.run_id.is_none());
        match old {
            // The legacy check-timeout writes TIMEOUT over whatever is there once
            // the deadline has passed, and answers TIMEOUT: what the caller was told.
            Some(told) if new.is_bare() && told.status.is_terminal() && new.status != Timeout => {
                return late(seen, told)
            }
            Some(run) if new.is_bare() && run.status.is_open() && run.run_id.is_some() => {
                return stripped(seen, run)
            }
            _ if new.status.is_terminal()
                && (unnamed_open || new.is_bare())
                && old.is_none_or(|old| old.status.is_open()) =>
            {
                return unnamed(seen)
            }
            _ => {}
        }
    }
    if new.status.is_terminal() && old.is_none_or(|old| old.status.is_open()) {
        let run_id = new.run_id.clone().or_else(|| old?.run_id.clone());
        let started = new.started_at.or_else(|| old?.started_at);
        return Decision::Measure(Completion {
            key: run_key(run_id.as_ref(), seen.sequence),
            item_run: new.run_id.clone(),
            run_id,
            status: new.status,
            function_name: (new.function_name.clone()).or_else(|| old?.function_name.clone()),
            // Legacy writers set no EndedAt: the record's time is the best end there is.
            duration: between(started, new.ended_at.or(seen.created)),
            swept: new.swept(),
        });
    }
    match old {
        // A bare START is the legacy start's new run, even over one of its own.
        Some(old) if new.status == Start && (old.run_id != new.run_id || new.is_bare()) => {
            Decision::Carry {
                superseded: old.status.is_open().then(|| Superseded {
                    key: run_key(old.run_id.as_ref(), seen.sequence),
                    run_id: old.run_id.clone(),
                    function_name: old.function_name.clone(),
                }),
                carry: old.measured_runs.clone(),
            }
        }
        _ => Decision::Ignore("no run finished or replaced"),
    }
}

pub(crate) fn between(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Option<Duration> {
    (end? - start?).to_std().ok()
}
