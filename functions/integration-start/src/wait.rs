//! How long start waits for the run it opened (or a retry's run).
//!
//! Connect's synchronous call (the polling flow) waits up to the wait budget
//! (`CONNECT_WAIT_MS`, 2 s) and answers whatever the run is then; check-timeout
//! carries on from there. The asynchronous-start flow invokes start
//! asynchronously (a time limit of up to 60 s) with the block parameter
//! `Wait: UntilEnd`: start then waits until its run ends or the run's deadline
//! passes, and times the run out there through the same conditional
//! transition check-timeout uses, which cannot overwrite a `DONE` that has
//! just landed, nor touch a run that is not start's own.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::{
    connect::{Answer, ContactFlowEvent},
    waiting::{self, answer_from_state, store_failure, WaitConfig, RULE_TIMEOUTS},
    ContactId, RunId, Store,
};
use tracing::info;

/// The block parameter that sets how start waits.
pub const WAIT_PARAMETER: &str = "Wait";
/// Its one value: wait until the run ends or its deadline passes.
pub const UNTIL_END: &str = "UntilEnd";

/// How start waits for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    /// Up to the wait budget (no `Wait` parameter): Connect's 8 s call.
    Budget,
    /// Until the run ends or its deadline passes (`Wait: UntilEnd`).
    UntilEnd,
}

impl WaitMode {
    /// The event's `Wait` parameter; `Err` names a value start does not know
    /// (any other text, or not text at all), which a flow must not be left
    /// to guess at.
    pub fn of(event: &ContactFlowEvent) -> Result<Self, String> {
        match event.parameters.get(WAIT_PARAMETER) {
            None => Ok(Self::Budget),
            Some(Value::String(text)) if text == UNTIL_END => Ok(Self::UntilEnd),
            Some(_) => Err(format!(
                "The block parameter {WAIT_PARAMETER} must be {UNTIL_END} or absent"
            )),
        }
    }

    /// How long the whole call may take: the budget's limit; for a wait until
    /// the end, the longest rule timeout and a second budget on top (the run
    /// is opened within the first, and its deadline is at most the longest
    /// rule timeout after that).
    pub fn answer_limit(self, config: &WaitConfig) -> Duration {
        match self {
            Self::Budget => config.answer_limit(),
            Self::UntilEnd => {
                config.answer_limit()
                    + config.budget
                    + Duration::from_secs_f64(*RULE_TIMEOUTS.end())
            }
        }
    }
}

/// start's own run and when it is due: the only run a wait until the end
/// may time out.
#[derive(Debug, Clone, Copy)]
pub struct Ours<'a> {
    pub run: &'a RunId,
    pub deadline: DateTime<Utc>,
}

/// Waits for the run to finish, as `mode` says, then answers from the state.
/// The budget (`until`) is read at start's pace; a wait until the end goes on
/// at check-timeout's, since the run has been open for seconds by then.
pub async fn wait_and_answer(
    store: &Store,
    contact: &ContactId,
    until: DateTime<Utc>,
    mode: WaitMode,
    ours: Ours<'_>,
    config: &WaitConfig,
) -> Answer {
    let waited = match waiting::wait_for_finish(store, contact, until, &config.poll).await {
        Ok(waited) => waited,
        Err(err) => return store_failure(&err),
    };
    let mut reads = waited.reads;
    let open = waited.record.as_ref().is_some_and(|r| r.status.is_open());
    if mode == WaitMode::UntilEnd && open {
        // The deadline the status item gives the run, when it still names it
        // (a retry knows no other); else the one the caller gave.
        let named = waited
            .record
            .as_ref()
            .filter(|r| r.run_id.as_ref() == Some(ours.run));
        let ours = Ours {
            deadline: named.and_then(|r| r.deadline).unwrap_or(ours.deadline),
            ..ours
        };
        match until_the_end(store, contact, ours, config).await {
            Ok(more) => reads += more,
            Err(answer) => return answer,
        }
    }
    info!(reads, "wait over");
    answer_from_state(store, contact).await
}

/// The status item is still open after the budget: waits until it is
/// finished or `ours` is due, and times `ours` out then (refused, and so
/// harmless, if the item holds another run or has just finished). The reads
/// made.
async fn until_the_end(
    store: &Store,
    contact: &ContactId,
    ours: Ours<'_>,
    config: &WaitConfig,
) -> Result<u32, Answer> {
    let waited = waiting::wait_for_finish(store, contact, ours.deadline, &config.check_poll)
        .await
        .map_err(|err| store_failure(&err))?;
    let open = waited.record.as_ref().is_some_and(|r| r.status.is_open());
    if open && store.clock().now() >= ours.deadline {
        waiting::time_out(store, contact, Some(ours.run)).await?;
    }
    Ok(waited.reads)
}
