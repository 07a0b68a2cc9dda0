//! check-timeout: the loop of Connect's integration flow, called while the run is
//! open, between comfort messages.
//!
//! It reads the status item first, so a run that finished while the caller heard
//! the message is answered as it finished. An open run past its deadline becomes
//! `TIMEOUT` through the conditional transition, which cannot overwrite a run
//! that has just finished. Otherwise it waits up to the wait budget, and if the
//! deadline falls inside the wait, times the run out then rather than on the
//! next call.
//!
//! Invoked with the block parameter `FlowFailure`, it records instead that one
//! of the flow's calls failed ([`failure`]), so the state says `ERROR` before the
//! flow hands the contact back.

pub mod failure;

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::{
    connect::{Answer, ConnectRequest, Instance},
    store::INTEGRATION_START,
    time::parse_rules_engine,
    waiting::{self, answer_from_state, store_failure, WaitConfig},
    ContactId, StatusItem, Store,
};
use tracing::{info, warn, Instrument};

use failure::FlowFailure;

/// What the handler needs, built once per instance.
pub struct Deps {
    pub store: Store,
    pub wait: WaitConfig,
    pub instance: Instance,
}

/// Handles one invocation. Always answers: a problem is an `ERROR` answer, never
/// a Lambda error.
pub async fn handle(event: Value, deps: &Deps) -> Value {
    let event = match ConnectRequest::from_value(event) {
        Ok(ConnectRequest::KeepWarm(ping)) => return ping.reply(&deps.instance),
        Ok(ConnectRequest::Contact(event)) => event,
        Err(err) => {
            warn!(error = %err, "not a Connect event");
            return Answer::error(&err.to_string()).into_value();
        }
    };
    let contact = event.contact_id.clone();
    let span =
        tracing::info_span!("check_timeout", contact_id = %contact, run_id = tracing::field::Empty);
    let failure = match event.parameter(failure::FLOW_FAILURE) {
        None => None,
        Some(named) => match FlowFailure::parse(named) {
            Some(failure) => Some(failure),
            None => {
                warn!(contact_id = %contact, "unknown FlowFailure; nothing recorded");
                return Answer::error("The flow named a failure check-timeout does not know")
                    .into_value();
            }
        },
    };
    // Boxed: the SDK calls make this future deep, and it is built once per call.
    let checked = Box::pin(
        async {
            match failure {
                Some(failure) => failure::record(&contact, failure, deps).await,
                None => check(&contact, deps).await,
            }
        }
        .instrument(span),
    );
    match tokio::time::timeout(deps.wait.answer_limit(), checked).await {
        Ok(answer) => answer.into_value(),
        Err(_) => {
            warn!(contact_id = %contact, "no answer within the time limit");
            Answer::error("The integration status could not be read in time").into_value()
        }
    }
}

async fn check(contact: &ContactId, deps: &Deps) -> Answer {
    let store = &deps.store;
    let until = store.clock().now() + deps.wait.budget;
    let record = match store.status(contact).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            warn!("the contact has no integration run");
            return Answer::error("The contact has no integration run");
        }
        Err(err) => return store_failure(&err),
    };
    if let Some(run) = &record.run_id {
        tracing::Span::current().record("run_id", tracing::field::display(run));
    }
    if record.status.is_terminal() {
        return answer_from_state(store, contact).await;
    }
    let deadline = match record.deadline {
        Some(deadline) => deadline,
        None => match legacy_deadline(store, contact, &deps.wait).await {
            Ok(deadline) => deadline,
            Err(answer) => return answer,
        },
    };
    if store.clock().now() < deadline {
        let waited = match waiting::wait_for_finish(
            store,
            contact,
            until.min(deadline),
            &deps.wait.check_poll,
        )
        .await
        {
            Ok(waited) => waited,
            Err(err) => return store_failure(&err),
        };
        info!(reads = waited.reads, "wait over");
        let still_ours_and_open = waited
            .record
            .as_ref()
            .is_some_and(|now| now.status.is_open() && now.run_id == record.run_id);
        if !still_ours_and_open || store.clock().now() < deadline {
            return answer_from_state(store, contact).await;
        }
    }
    time_out(store, contact, &record).await
}

/// The run is open and past its deadline: `TIMEOUT`, unless it finished (or was
/// replaced) in the meantime, in which case the answer shows what it became.
async fn time_out(store: &Store, contact: &ContactId, record: &StatusItem) -> Answer {
    match waiting::time_out(store, contact, record.run_id.as_ref()).await {
        Ok(()) => answer_from_state(store, contact).await,
        Err(answer) => answer,
    }
}

/// A run written without run attributes (by a legacy writer) ends at
/// `IntegrationStart` + `CurrentRule_functionTimeout`, as the Rules Engine reckons it.
async fn legacy_deadline(
    store: &Store,
    contact: &ContactId,
    wait: &WaitConfig,
) -> Result<DateTime<Utc>, Answer> {
    let state = store
        .load_state(contact)
        .await
        .map_err(|err| store_failure(&err))?;
    let started = state
        .get_str(INTEGRATION_START)
        .and_then(|text| parse_rules_engine(text).ok());
    let Some(started) = started else {
        // Without a start time the run cannot be timed; treat it as due now, so
        // the caller is not held in a loop that cannot end.
        warn!("open run without IntegrationStart; timing it out");
        return Ok(store.clock().now());
    };
    let timeout = wait.run_timeout(&state);
    Ok(started + chrono::Duration::from_std(timeout).unwrap_or(chrono::TimeDelta::MAX))
}
