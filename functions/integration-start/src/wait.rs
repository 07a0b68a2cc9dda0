//! How long start waits for the run it opened (or a retry's run).
//!
//! Connect's synchronous call (the polling flow) waits up to the wait budget
//! (`CONNECT_WAIT_MS`, 2 s) and answers whatever the run is then; check-timeout
//! carries on from there. The asynchronous-start flow invokes start
//! asynchronously (a time limit of up to 60 s) with the block parameter
//! `Wait: UntilEnd`: start then waits until the run ends or its deadline
//! passes, and times it out there through the same conditional transition
//! check-timeout uses, which cannot overwrite a `DONE` that has just landed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::{
    connect::{Answer, ContactFlowEvent},
    waiting::{self, answer_from_state, store_failure, WaitConfig, RULE_TIMEOUTS},
    ContactId, StatusRecord, Store, Transition,
};
use tracing::{info, warn};

/// The block parameter that sets how start waits, and its one other value.
pub const WAIT_PARAMETER: &str = "Wait";
pub const UNTIL_END: &str = "UntilEnd";

/// How start waits for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waits {
    /// Up to the wait budget (no `Wait` parameter): Connect's 8 s call.
    Budget,
    /// Until the run ends or its deadline passes (`Wait: UntilEnd`).
    UntilEnd,
}

impl Waits {
    /// The event's `Wait` parameter; `Err` names a value start does not know,
    /// which a flow must not be left to guess at.
    pub fn of(event: &ContactFlowEvent) -> Result<Self, String> {
        match event.parameter(WAIT_PARAMETER) {
            None => Ok(Self::Budget),
            Some(UNTIL_END) => Ok(Self::UntilEnd),
            Some(_) => Err(format!(
                "The block parameter {WAIT_PARAMETER} must be {UNTIL_END} or absent"
            )),
        }
    }

    /// How long the whole call may take: the budget's limit, and for a wait
    /// until the end the longest rule timeout on top (the run's deadline is
    /// at most that far from its opening).
    pub fn answer_limit(self, wait: &WaitConfig) -> Duration {
        match self {
            Self::Budget => wait.answer_limit(),
            Self::UntilEnd => wait.answer_limit() + Duration::from_secs_f64(*RULE_TIMEOUTS.end()),
        }
    }
}

/// Waits for the run to finish, as `waits` says, then answers from the state.
/// The first `until` (the budget) is read at start's pace; a wait until the end
/// goes on at check-timeout's, since the run has been open for seconds by then.
pub async fn wait_and_answer(
    store: &Store,
    contact: &ContactId,
    until: DateTime<Utc>,
    waits: Waits,
    wait: &WaitConfig,
) -> Answer {
    let waited = match waiting::wait_for_finish(store, contact, until, &wait.poll).await {
        Ok(waited) => waited,
        Err(err) => return store_failure(&err),
    };
    let mut reads = waited.reads;
    let mut last = waited.record;
    if waits == Waits::UntilEnd {
        if let Some(open) = last.clone().filter(|r| r.status.is_open()) {
            match until_the_end(store, contact, &open, wait).await {
                Ok((more, now)) => {
                    reads += more;
                    last = now;
                }
                Err(answer) => return answer,
            }
        }
    }
    info!(
        reads,
        status = last.as_ref().map_or("none", |r| r.status.as_str()),
        "wait over"
    );
    answer_from_state(store, contact).await
}

/// The run `open` is still open after the budget: waits until it ends or its
/// deadline passes, and times it out then. The reads made, and the status last
/// read.
async fn until_the_end(
    store: &Store,
    contact: &ContactId,
    open: &StatusRecord,
    wait: &WaitConfig,
) -> Result<(u32, Option<StatusRecord>), Answer> {
    // start wrote the deadline; a run without one (an original writer's) ends
    // at once here, as check-timeout would reckon it without a start time.
    let deadline = open.deadline.unwrap_or_else(|| store.clock().now());
    let waited = waiting::wait_for_finish(store, contact, deadline, &wait.check_poll)
        .await
        .map_err(|err| store_failure(&err))?;
    let still_open = waited
        .record
        .as_ref()
        .is_some_and(|now| now.status.is_open() && now.run_id == open.run_id);
    if still_open && store.clock().now() >= deadline {
        match store.timeout(contact, open.run_id.as_ref()).await {
            Ok(Transition::Applied) => info!("run timed out"),
            Ok(Transition::Refused(refusal)) => {
                info!(?refusal, "run finished before it could time out")
            }
            Err(err) => {
                warn!("the run could not be timed out");
                return Err(store_failure(&err));
            }
        }
    }
    Ok((waited.reads, waited.record))
}
