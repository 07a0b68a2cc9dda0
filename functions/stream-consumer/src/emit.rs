//! The consumer's metric documents, one builder per kind.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::{ContactId, RunId};

use crate::{
    decide::{Completion, LateFinish},
    metrics::{
        Document, Unit, ABANDONED_RUNS, FUNCTION_NAME, INTEGRATION_COUNT, INTEGRATION_DURATION,
        LATE_FINISHES, MALFORMED_RECORDS, REASON, STATUS, STREAM_LAG,
    },
};

/// `Reason` of a run timed out by the sweep.
pub const DEADLINE: &str = "Deadline";
/// `Reason` of an open run replaced by a new START.
pub const SUPERSEDED: &str = "Superseded";
/// `FunctionName` of a run whose records never named its function (legacy writers).
pub const UNKNOWN_FUNCTION: &str = "unknown";

/// CloudWatch rejects empty dimension values; a name is also cut to its limit.
fn function_dimension(name: Option<&str>) -> String {
    match name.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => name.chars().take(1024).collect(),
        None => UNKNOWN_FUNCTION.into(),
    }
}

fn run_properties(mut document: Document, contact: &ContactId, run: Option<&RunId>) -> Document {
    document = document.property("ContactId", contact.as_str());
    if let Some(run) = run {
        document = document.property("RunId", run.as_str());
    }
    document
}

/// A finished run: its count, and its duration when known, by function and status.
pub fn completion(now: DateTime<Utc>, contact: &ContactId, run: &Completion) -> Document {
    let mut document = Document::new(now)
        .dimension_sets(&[&[FUNCTION_NAME, STATUS], &[FUNCTION_NAME]])
        .dimension(
            FUNCTION_NAME,
            function_dimension(run.function_name.as_deref()),
        )
        .dimension(STATUS, run.status.as_str());
    if let Some(duration) = run.duration {
        document = document.metric(
            INTEGRATION_DURATION,
            Unit::Milliseconds,
            duration.as_millis() as f64,
        );
    }
    document = document.metric(INTEGRATION_COUNT, Unit::Count, 1.0);
    run_properties(document, contact, run.run_id.as_ref())
}

/// A run nobody finished: timed out by the sweep, or superseded.
pub fn abandoned(
    now: DateTime<Utc>,
    contact: &ContactId,
    run: Option<&RunId>,
    function_name: Option<&str>,
    reason: &'static str,
) -> Document {
    let document = Document::new(now)
        .dimension_sets(&[&[FUNCTION_NAME, REASON], &[FUNCTION_NAME]])
        .dimension(FUNCTION_NAME, function_dimension(function_name))
        .dimension(REASON, reason)
        .metric(ABANDONED_RUNS, Unit::Count, 1.0);
    run_properties(document, contact, run)
}

/// A legacy integration function's finish that landed after the caller had
/// been told the run's status, and was undone: by function, with the status
/// it wrote, the status that stands, and how long the late write stood
/// (when the late writer's `IntegrationEnd` told when it wrote).
pub fn late_finish(now: DateTime<Utc>, contact: &ContactId, late: &LateFinish) -> Document {
    let mut document = Document::new(now)
        .dimension_sets(&[&[FUNCTION_NAME]])
        .dimension(
            FUNCTION_NAME,
            function_dimension(late.function_name.as_deref()),
        )
        .metric(LATE_FINISHES, Unit::Count, 1.0)
        .property("LateStatus", late.late.as_str())
        .property("ToldStatus", late.told.as_str());
    if let Some(stood) = late.finished_at.and_then(|at| (now - at).to_std().ok()) {
        document = document.property("UndoneAfterMs", stood.as_millis().to_string());
    }
    run_properties(document, contact, late.run.as_ref())
}

/// How old the oldest record of a batch was when it was processed.
pub fn stream_lag(now: DateTime<Utc>, lag: Duration) -> Document {
    Document::new(now).metric(STREAM_LAG, Unit::Milliseconds, lag.as_millis() as f64)
}

/// How many records of a batch were malformed.
pub fn malformed(now: DateTime<Utc>, count: usize) -> Document {
    Document::new(now).metric(MALFORMED_RECORDS, Unit::Count, count as f64)
}
