//! What the demo waits for once its contacts have played, and what it reads
//! from the consumer's metrics: each run's completion, and the late finishes
//! of the original Rules Engine's echo that the consumer undid. The final
//! state is read only after these waits, so that a legacy function's last
//! write has landed (and been undone where late) before it is judged.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use shared::IntegrationStatus;

use super::BoxError;
use crate::{
    connect::simulator::{Played, Simulator},
    stack::{Metrics, Stack},
};

/// Waits until every run has its completion metric, or `limit` passes.
pub(super) async fn await_metrics(stack: &Stack, runs: &[String], limit: Duration) {
    await_evidence(stack, limit, async |metrics| {
        let measured = completions(metrics);
        runs.iter().all(|run| measured.contains_key(run))
    })
    .await;
}

/// How long after its work a legacy function's finish is given to land and,
/// when late, be undone: its last write, the stream poller's delivery and the
/// consumer's repair.
const LEGACY_SETTLE: Duration = Duration::from_secs(3);

/// Waits for what the original Rules Engine's echo writes after its contact
/// has played, before anything reads the final state: until every legacy
/// contact's function has had its work time (`SleepTime`) and
/// [`LEGACY_SETTLE`] since its call began, then until every late finish
/// expected has been undone (its `LateFinishes` metric), or `limit` passes.
pub(super) async fn await_legacy(stack: &Stack, played: &[Played], limit: Duration) {
    let legacy: Vec<&Played> = played.iter().filter(|p| p.scenario.is_legacy()).collect();
    let finished = legacy
        .iter()
        .map(|p| p.began + p.scenario.work_time() + LEGACY_SETTLE)
        .max();
    let Some(finished) = finished else {
        return;
    };
    let until = Instant::now() + limit;
    tokio::time::sleep_until(finished.min(until).into()).await;
    let left = until.saturating_duration_since(Instant::now());
    await_evidence(stack, left, async |metrics| {
        let undone = late_finishes(metrics);
        for p in &legacy {
            if !undone.by_contact.contains_key(p.contact.as_str())
                && expects_late_finish(p, untold_status(stack, p).await)
            {
                return false;
            }
        }
        true
    })
    .await;
}

/// Waits until `arrived` says the metrics hold what is waited for, or `limit`
/// passes, running the sweep every 2 s meanwhile.
async fn await_evidence(stack: &Stack, limit: Duration, arrived: impl AsyncFn(&Metrics) -> bool) {
    let until = Instant::now() + limit;
    let mut swept = Instant::now();
    while Instant::now() < until {
        if arrived(&stack.metrics).await {
            return;
        }
        // The schedule sweeps too; sweeping here as well only makes the wait shorter.
        if swept.elapsed() > Duration::from_secs(2) {
            let _ = stack.sweep_now().await;
            swept = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether the consumer should undo a late finish of this contact's run: the
/// legacy echo finishes whatever happened, so a legacy run whose caller was
/// told `TIMEOUT` (by check-timeout, or the sweep after a hang-up) gets its
/// finish late, exactly once; so does one whose caller was told nothing of
/// it (an ERROR answered without the state, the store down) and that ended
/// `TIMEOUT` all the same (`status`, the final one: the sweep).
pub(super) fn expects_late_finish(p: &Played, status: Option<IntegrationStatus>) -> bool {
    let timeout = Some(IntegrationStatus::Timeout);
    p.scenario.is_legacy()
        && match p.told() {
            Some(told) => Some(told) == timeout,
            None => status == timeout,
        }
}

/// The status of a contact told nothing of its run, as it stands now: what
/// [`expects_late_finish`] needs of it (the sweep may have timed it out).
/// `None` without a read for a contact that was told.
pub(super) async fn untold_status(stack: &Stack, p: &Played) -> Option<IntegrationStatus> {
    if p.told().is_some() {
        return None;
    }
    let status = stack.store.status(&p.contact).await.ok().flatten();
    status.map(|item| item.status)
}

/// The runs of contacts whose run was not known when they ended: an opening
/// write still queued in DynamoDB when start had given up on it and answered
/// ERROR shows up later, and so does a legacy run's id, which the original's
/// bare puts take off the status item until the consumer puts it back.
pub(super) async fn late_runs(
    sim: &Simulator,
    played: &mut [Played],
) -> Result<Vec<String>, BoxError> {
    let mut found = Vec::new();
    for p in played.iter_mut().filter(|p| p.run_id.is_none()) {
        p.run_id = sim.run_of(&p.contact).await?;
        found.extend(p.run_id.as_ref().map(|r| r.to_string()));
    }
    Ok(found)
}

/// A completion metric of a run: the status it gave and the function it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Measured {
    pub(super) status: String,
    pub(super) function: String,
}

/// Completion documents by run id: `IntegrationCount` for a run that ended
/// while the caller waited, `AbandonedRuns` with reason `Deadline` (as
/// `TIMEOUT`) for one the consumer's sweep timed out.
pub(super) fn completions(metrics: &Metrics) -> BTreeMap<String, Vec<Measured>> {
    let mut by_run: BTreeMap<String, Vec<Measured>> = BTreeMap::new();
    for doc in metrics.all() {
        let status = if doc.get("IntegrationCount").is_some() {
            doc["Status"].as_str()
        } else if doc.get("AbandonedRuns").is_some() && doc["Reason"] == "Deadline" {
            Some(IntegrationStatus::Timeout.as_str())
        } else {
            None
        };
        if let (Some(run), Some(status)) = (doc["RunId"].as_str(), status) {
            by_run.entry(run.to_owned()).or_default().push(Measured {
                status: status.to_owned(),
                function: doc["FunctionName"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    by_run
}

/// The consumer's `LateFinishes` documents (a legacy finish that landed after
/// the caller was told the run's status, undone), counted by run and by contact.
#[derive(Debug, Default)]
pub(super) struct LateFinishes {
    pub(super) by_run: BTreeMap<String, usize>,
    pub(super) by_contact: BTreeMap<String, usize>,
    /// How long each late write stood before the consumer undid it
    /// (`UndoneAfterMs`: from the late writer's `IntegrationEnd` to the repair).
    pub(super) stood: Vec<Duration>,
}

pub(super) fn late_finishes(metrics: &Metrics) -> LateFinishes {
    let mut late = LateFinishes::default();
    for doc in metrics.all() {
        if doc.get("LateFinishes").is_none() {
            continue;
        }
        if let Some(run) = doc["RunId"].as_str() {
            *late.by_run.entry(run.to_owned()).or_default() += 1;
        }
        if let Some(contact) = doc["ContactId"].as_str() {
            *late.by_contact.entry(contact.to_owned()).or_default() += 1;
        }
        if let Some(ms) = doc["UndoneAfterMs"].as_str().and_then(|ms| ms.parse().ok()) {
            late.stood.push(Duration::from_millis(ms));
        }
    }
    late
}
