//! Integration runs: what the status item records, and what a transition can come
//! back with.
//!
//! Every run has a [`RunId`]. `start` replaces the contact's run; `run`, `done`,
//! `error` and `timeout` are conditional on the status item naming the same run and
//! being in a status the transition may leave. A refused condition is an expected
//! outcome ([`Transition::Refused`]), not an error: the caller logs it and stops.

use std::time::Duration;

use chrono::{DateTime, Utc};

use serde::Deserialize;

use crate::{
    keys::SWEEP, status::UnknownStatus, time::from_epoch_ms, ContactId, IntegrationStatus, RunId,
};

/// The `IntegrationStatus` item, whoever wrote it: the one shape of it,
/// read from the store and from a stream image alike ([`StatusItem::read`]).
///
/// Only `Value` is certain: integration functions written for the Rules
/// Engine (legacy writers) replace the item with a bare put of `Value` and
/// `Expiry`. Every attribute this project or its stream consumer writes is a
/// field here, named in [`crate::table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusItem {
    pub status: IntegrationStatus,
    /// The TTL its last put or update set (epoch seconds): with the status,
    /// what tells one legacy put from the next.
    pub expiry: Option<i64>,
    pub run_id: Option<RunId>,
    pub started_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub function_name: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Its shard of the pending-runs index, while open.
    pub pending_shard: Option<u8>,
    /// The cause of an `ERROR`, kept on the item too.
    pub cause: Option<String>,
    /// Who timed the run out, when the sweep did.
    pub timed_out_by: Option<String>,
    /// When the stream consumer last repaired the item (epoch ms).
    pub repaired_at: Option<i64>,
    /// The legacy puts undone on this item (`<status>@<expiry>`).
    pub undone_puts: Vec<String>,
    /// When the item's own run was measured (epoch ms): the stamp.
    pub measured_at: Option<i64>,
    pub measured_duration_ms: Option<i64>,
    /// Keys of the contact's runs known to be measured.
    pub measured_runs: Vec<String>,
    /// The token of the last stamp or mark written.
    pub measured_by: Option<String>,
}

/// The attributes as DynamoDB holds them; unknown ones are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attributes {
    value: String,
    expiry: Option<i64>,
    run_id: Option<String>,
    started_at: Option<i64>,
    deadline: Option<i64>,
    function_name: Option<String>,
    ended_at: Option<i64>,
    pending_shard: Option<u8>,
    cause: Option<String>,
    timed_out_by: Option<String>,
    repaired_at: Option<i64>,
    #[serde(default)]
    undone_puts: Vec<String>,
    measured_at: Option<i64>,
    measured_duration_ms: Option<i64>,
    #[serde(default)]
    measured_runs: Vec<String>,
    measured_by: Option<String>,
}

impl StatusItem {
    /// A status item with nothing but its status: what a legacy put writes.
    pub fn bare(status: IntegrationStatus, expiry: Option<i64>) -> Self {
        Self {
            status,
            expiry,
            run_id: None,
            started_at: None,
            deadline: None,
            function_name: None,
            ended_at: None,
            pending_shard: None,
            cause: None,
            timed_out_by: None,
            repaired_at: None,
            undone_puts: Vec::new(),
            measured_at: None,
            measured_duration_ms: None,
            measured_runs: Vec::new(),
            measured_by: None,
        }
    }

    /// Reads an item (the SDK's, or a stream image's). The error says what
    /// could not be read, without quoting a value (`reason` words serde's
    /// errors, which do): an unknown status is named only when it reads as a
    /// status word.
    pub fn read<I: Into<serde_dynamo::Item>>(
        item: I,
        reason: &dyn Fn(&dyn std::fmt::Display) -> String,
    ) -> Result<Self, String> {
        let raw: Attributes = serde_dynamo::from_item(item).map_err(|err| reason(&err))?;
        let time = |ms: Option<i64>| ms.and_then(from_epoch_ms);
        Ok(Self {
            status: raw
                .value
                .parse()
                .map_err(|err: UnknownStatus| err.to_string())?,
            expiry: raw.expiry,
            run_id: raw
                .run_id
                .map(RunId::parse)
                .transpose()
                .map_err(|e| e.to_string())?,
            started_at: time(raw.started_at),
            deadline: time(raw.deadline),
            function_name: raw.function_name,
            ended_at: time(raw.ended_at),
            pending_shard: raw.pending_shard,
            cause: raw.cause,
            timed_out_by: raw.timed_out_by,
            repaired_at: raw.repaired_at,
            undone_puts: raw.undone_puts,
            measured_at: raw.measured_at,
            measured_duration_ms: raw.measured_duration_ms,
            measured_runs: raw.measured_runs,
            measured_by: raw.measured_by,
        })
    }

    /// Nothing but `Value` and `Expiry` (beside the keys), at most with the
    /// consumer's measure marks (`MeasuredRuns`, `MeasuredBy`) added since:
    /// a legacy put, never one of this project's writes.
    pub fn is_legacy_put(&self) -> bool {
        Self {
            measured_runs: Vec::new(),
            measured_by: None,
            ..self.clone()
        } == Self::bare(self.status, self.expiry)
    }

    /// A legacy put exactly as written, without even the consumer's marks.
    pub fn is_bare(&self) -> bool {
        *self == Self::bare(self.status, self.expiry)
    }

    /// What this item's put is known by in `UndonePuts`.
    pub fn put_key(&self) -> String {
        format!("{}@{}", self.status, self.expiry.unwrap_or_default())
    }

    /// Timed out by the abandoned-run sweep rather than by check-timeout.
    pub fn swept(&self) -> bool {
        self.timed_out_by.as_deref() == Some(SWEEP)
    }
}

/// What `start` needs to open a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStart {
    pub function_name: String,
    /// The rule's timeout: the run becomes `TIMEOUT` once this has passed.
    pub timeout: Duration,
}

/// A run opened by `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub contact_id: ContactId,
    pub id: RunId,
    pub function_name: String,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

/// The outcome of a conditional transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The status item now holds the new status, with everything that goes with it.
    Applied,
    /// The condition was refused; nothing was written.
    Refused(Refusal),
}

/// Why a transition was refused. None of these is worth retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The contact has no `IntegrationStatus` item at all.
    NoRun,
    /// The status item belongs to another run (`None`: one written without a run id).
    Superseded {
        current: Option<RunId>,
        status: IntegrationStatus,
    },
    /// The run is ours but already in `status`, which the transition may not leave.
    AlreadyFinished { status: IntegrationStatus },
}

impl Refusal {
    /// Classifies a refusal from the status item as it was when the condition failed.
    pub fn from_current(expected: Option<&RunId>, current: Option<&StatusItem>) -> Self {
        match current {
            None => Refusal::NoRun,
            Some(record) if record.run_id.as_ref() != expected => Refusal::Superseded {
                current: record.run_id.clone(),
                status: record.status,
            },
            Some(record) => Refusal::AlreadyFinished {
                status: record.status,
            },
        }
    }
}

/// The statuses each transition may leave.
pub(crate) mod sources {
    use crate::IntegrationStatus::{self, Run, Start};

    /// `run` also accepts `RUN`, so that Lambda's retry of an integration function
    /// that failed after marking itself can mark itself again and redo the work.
    pub const RUN: &[IntegrationStatus] = &[Start, Run];
    pub const FINISH: &[IntegrationStatus] = &[Start, Run];
}
