//! Integration runs: what the status item records, and what a transition can come
//! back with.
//!
//! Every run has a [`RunId`]. `start` replaces the contact's run; `run`, `done`,
//! `error` and `timeout` are conditional on the status item naming the same run and
//! being in a status the transition may leave. A refused condition is an expected
//! outcome ([`Transition::Refused`]), not an error: the caller logs it and stops.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{ContactId, IntegrationStatus, RunId};

/// The `IntegrationStatus` item of a contact, typed.
///
/// Run attributes are optional: integration functions written for the original
/// Rules Engine replace the item with a bare `Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    pub contact_id: ContactId,
    pub status: IntegrationStatus,
    pub run_id: Option<RunId>,
    pub started_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub function_name: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
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
    pub fn from_current(expected: Option<&RunId>, current: Option<&StatusRecord>) -> Self {
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
