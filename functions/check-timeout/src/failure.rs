//! The contact flow's failure record: the flow invokes check-timeout with the
//! block parameter `FlowFailure` when one of its calls failed (a Lambda error,
//! or Connect's 8 s limit), so that the state says `ERROR` before the flow
//! hands the contact back. The Rules Engine's next rules read
//! `IntegrationStatus` from the state table, not from the flow's attributes: a
//! run left `START` or `RUN` would read as open until the sweep closed it.
//!
//! | `FlowFailure` | what failed | what is written |
//! | --- | --- | --- |
//! | `start` | integration-start | the open run → `ERROR`; no open run (start never opened it): a run opened and ended `ERROR` at once, so the previous rule's status does not stand for this one |
//! | `integration` | the native flow's invocation, or loading its result | as for `start`: the function may never have opened its run |
//! | `check-timeout` | a poll | the open run → `ERROR`; a finished run stays as it finished |
//! | `gave-up` | the flow stopped polling before the run ended | as for `check-timeout` |
//!
//! Every write is a conditional transition, so a run that finished meanwhile
//! is never overwritten by the open-run branch. The output key is removed with
//! the `ERROR`, as the integration framework does. The answer is the state's,
//! as for any call.

use serde_json::Value;
use shared::{
    connect::Answer,
    waiting::{answer_from_state, store_failure, WaitConfig},
    ContactId, ContactState, ItemChange, RunStart, Store, StoreError,
};
use tracing::{info, warn};

use crate::Deps;

/// The block parameter that asks for the record.
pub const FLOW_FAILURE: &str = "FlowFailure";

/// The function name recorded for a run opened only to record that the call
/// which should have opened it failed.
pub const UNOPENED: &str = "(not started)";

/// What failed, by `FlowFailure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFailure {
    /// A call that opens the rule's run failed: it may never have opened it.
    Opening(&'static str),
    /// A call made while the run was open failed.
    Polling(&'static str),
}

impl FlowFailure {
    /// The failure `FlowFailure` names; `None` for a name the flow should not use.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "start" => Self::Opening("integration-start"),
            "integration" => Self::Opening("the integration function"),
            "check-timeout" => Self::Polling("check-timeout"),
            "gave-up" => Self::Polling("the contact flow's polling limit"),
            _ => return None,
        })
    }

    fn cause(self) -> String {
        match self {
            Self::Opening(what) | Self::Polling(what) => {
                format!("The contact flow's call to {what} failed")
            }
        }
    }
}

/// Records `failure` for `contact` and answers with the state.
pub async fn record(contact: &ContactId, failure: FlowFailure, deps: &Deps) -> Answer {
    match write(contact, failure, &deps.store, &deps.wait).await {
        Ok(()) => answer_from_state(&deps.store, contact).await,
        Err(err) => store_failure(&err),
    }
}

async fn write(
    contact: &ContactId,
    failure: FlowFailure,
    store: &Store,
    wait: &WaitConfig,
) -> Result<(), StoreError> {
    let cause = failure.cause();
    let mut state = store.load_state(contact).await?;
    let removal = output_removal(&mut state);
    match state.status() {
        Some(record) if record.status.is_open() => {
            let ended = store
                .error(contact, record.run_id.as_ref(), &cause, &removal)
                .await?;
            info!(?ended, %cause, "open run ended ERROR for the flow's failed call");
        }
        finished if matches!(failure, FlowFailure::Opening(_)) => {
            let previous = finished.map(|r| r.status.as_str());
            let start = RunStart {
                function_name: UNOPENED.to_owned(),
                timeout: wait.run_timeout(&state),
            };
            let run = store.start(contact, start).await?;
            store
                .error(contact, Some(&run.id), &cause, &removal)
                .await?;
            info!(run_id = %run.id, ?previous, %cause, "run recorded ERROR for the flow's failed opening call");
        }
        finished => {
            let status = finished.map(|r| r.status.as_str());
            info!(?status, %cause, "the run ended before the flow's failed call; left as it is");
        }
    }
    Ok(())
}

/// The removal of the rule's output key, when it names a usable one.
fn output_removal(state: &mut ContactState) -> Vec<ItemChange> {
    let Some(key) = state.get_str(shared::keys::OUTPUT_KEY).map(str::to_owned) else {
        return Vec::new();
    };
    match state.set(&key, Value::Null) {
        Ok(change) => vec![change],
        Err(err) => {
            warn!(error = %err, "the rule's output key is unusable; not removed");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flows_failure_names_say_whether_the_run_was_opened() {
        assert!(matches!(
            FlowFailure::parse("start"),
            Some(FlowFailure::Opening(_))
        ));
        assert!(matches!(
            FlowFailure::parse("integration"),
            Some(FlowFailure::Opening(_))
        ));
        assert!(matches!(
            FlowFailure::parse("check-timeout"),
            Some(FlowFailure::Polling(_))
        ));
        assert!(matches!(
            FlowFailure::parse("gave-up"),
            Some(FlowFailure::Polling(_))
        ));
        assert_eq!(FlowFailure::parse("Start"), None);
        assert_eq!(
            FlowFailure::parse("start").unwrap().cause(),
            "The contact flow's call to integration-start failed"
        );
    }
}
