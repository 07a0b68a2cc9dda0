//! One run, from the `run` transition to `DONE`/`ERROR`: the path both kinds of
//! invocation share, and the integration request's way into it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tracing::Instrument;

use super::{
    analytics::Record,
    output::{checked_output_key, cut, output_change, output_removal, write_output},
    Cause, Deps, IntegrationContext, IntegrationError, IntegrationRequest, Mode, RuleInfo,
    OUTPUT_KEY, RULE_FUNCTION_NAME,
};
use crate::{
    store::INTEGRATION_START, time::parse_rules_engine, ContactId, ContactState, IntegrationStatus,
    Refusal, RunId, Store, StoreError, Transition,
};

/// How a run ended, as far as this invocation is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// This invocation wrote the run's terminal status.
    Finished(IntegrationStatus),
    /// A transition was refused; nothing was written.
    Refused(Refusal),
    /// A request without `RunId` found no open run to adopt.
    NoOpenRun,
}

/// Everything a run needs, gathered by the request or native path.
pub(crate) struct Job {
    pub contact_id: ContactId,
    pub run_id: Option<RunId>,
    pub mode: Mode,
    pub state: ContactState,
    pub payload: String,
    /// `None` when neither the rule nor the block named one: the run fails.
    pub output_key: Option<String>,
    pub original_request: Value,
    pub function_name: String,
    pub started_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
}

/// Serves an integration request: adopts the open run when the request names
/// none, then runs it. The reply is for Lambda's on-success destination.
pub(crate) async fn request<W>(
    request: IntegrationRequest,
    deps: &Deps,
    work: W,
) -> Result<Value, IntegrationError>
where
    W: AsyncFn(&IntegrationContext, &str) -> Result<String, Cause>,
{
    let span = span(&request.contact_id, Mode::Request);
    async {
        let state = deps.store.load_state(&request.contact_id).await?;
        let run_id = match request.run_id {
            Some(id) => Some(id),
            None => match state.status() {
                // Callers written for the original send no run id: the contact's
                // open run is the one they were started for.
                Some(record) if record.status.is_open() => record.run_id.clone(),
                other => {
                    tracing::info!(
                        contact_id = %request.contact_id,
                        status = other.map(|record| record.status.as_str()),
                        "the request names no run and the contact has no open run to adopt; nothing written"
                    );
                    return Ok(reply(&request.contact_id, None, &Ended::NoOpenRun));
                }
            },
        };
        if let Some(id) = &run_id {
            tracing::Span::current().record("run_id", tracing::field::display(id));
        }
        let status = state.status();
        let function_name = state
            .get_str(RULE_FUNCTION_NAME)
            .map(str::to_owned)
            .or_else(|| status.and_then(|record| record.function_name.clone()))
            .or_else(|| deps.settings.function_name.clone())
            .unwrap_or_default();
        let started_at = state
            .get_str(INTEGRATION_START)
            .and_then(|text| parse_rules_engine(text).ok())
            .or_else(|| status.and_then(|record| record.started_at));
        let deadline = status
            .filter(|record| record.run_id == run_id)
            .and_then(|record| record.deadline);
        let job = Job {
            output_key: state.get_str(OUTPUT_KEY).map(str::to_owned),
            contact_id: request.contact_id.clone(),
            run_id: run_id.clone(),
            mode: Mode::Request,
            state,
            payload: request.payload,
            original_request: request.original_request,
            function_name,
            started_at,
            deadline,
        };
        let ended = perform(job, deps, work).await?;
        Ok(reply(&request.contact_id, run_id.as_ref(), &ended))
    }
    .instrument(span)
    .await
}

/// The span of one invocation: the contact, and the run once it is known.
pub(crate) fn span(contact_id: &ContactId, mode: Mode) -> tracing::Span {
    let mode = match mode {
        Mode::Request => "request",
        Mode::Native => "native",
    };
    tracing::info_span!(
        "integration",
        contact_id = %contact_id,
        run_id = tracing::field::Empty,
        mode,
    )
}

/// What an invocation from start returns: ids and outcome, nothing of the contact.
fn reply(contact_id: &ContactId, run_id: Option<&RunId>, ended: &Ended) -> Value {
    let (status, refused) = match ended {
        Ended::Finished(status) => (Some(status.as_str()), None),
        Ended::Refused(refusal) => (None, Some(describe(refusal))),
        Ended::NoOpenRun => (None, Some("no open run to adopt".to_owned())),
    };
    json!({
        "ContactId": contact_id.as_str(),
        "RunId": run_id.map(RunId::as_str),
        "IntegrationStatus": status,
        "Refused": refused,
    })
}

/// Runs `job`: `run`, the work, then `DONE` or `ERROR`. Store errors come back
/// as errors; a refused transition as [`Ended::Refused`].
pub(crate) async fn perform<W>(job: Job, deps: &Deps, work: W) -> Result<Ended, StoreError>
where
    W: AsyncFn(&IntegrationContext, &str) -> Result<String, Cause>,
{
    let store = &deps.store;
    let rule = RuleInfo::from_state(&job.state);
    let record = Record {
        contact_id: job.contact_id.as_str(),
        rule: &rule,
        function_name: &job.function_name,
        started_at: job.started_at,
    };
    let run = job.run_id.as_ref();
    let contact = &job.contact_id;

    // The key is checked before the run is marked, so a rule without a usable
    // output key fails at once, as the original did.
    let output_key = match checked_output_key(job.output_key.as_deref()) {
        Ok(checked) => checked,
        Err(cause) => {
            let outcome = store.error(contact, run, &cause, &[]).await?;
            return Ok(ended(outcome, &record, contact, run, Err(&cause), store));
        }
    };
    if let Transition::Refused(refusal) = store.run(contact, run).await? {
        return Ok(refused(refusal, contact, run, "run"));
    }
    record.run(store.clock().now());

    let context = IntegrationContext {
        contact_id: contact.clone(),
        run_id: job.run_id.clone(),
        mode: job.mode,
        output_key: output_key.clone(),
        state: job.state,
        original_request: job.original_request,
        function_name: job.function_name.clone(),
        rule: rule.clone(),
        deadline: job.deadline,
        store: store.clone(),
    };
    let result = work(&context, &job.payload).await;
    let mut state = context.state;

    let cause = match result.map(|output| output_change(&state, &output_key, output)) {
        Ok(Ok(change)) => match write_output(store, contact, run, change).await? {
            Ok(outcome) => {
                return Ok(ended(outcome, &record, contact, run, Ok(()), store));
            }
            Err(cause) => cause,
        },
        Ok(Err(cause)) => cause,
        Err(cause) => cut(cause.as_str()),
    };
    let removal = output_removal(&mut state, &output_key);
    let outcome = store.error(contact, run, &cause, &[removal]).await?;
    Ok(ended(outcome, &record, contact, run, Err(&cause), store))
}

/// Logs how a finishing transition went and says how the run ended.
fn ended(
    outcome: Transition,
    record: &Record<'_>,
    contact: &ContactId,
    run: Option<&RunId>,
    result: Result<(), &str>,
    store: &Store,
) -> Ended {
    let (status, cause) = match result {
        Ok(()) => (IntegrationStatus::Done, None),
        Err(cause) => (IntegrationStatus::Error, Some(cause)),
    };
    match outcome {
        Transition::Applied => {
            record.end(status, cause, store.clock().now());
            Ended::Finished(status)
        }
        Transition::Refused(refusal) => refused(refusal, contact, run, status.as_str()),
    }
}

fn refused(refusal: Refusal, contact: &ContactId, run: Option<&RunId>, what: &str) -> Ended {
    tracing::warn!(
        contact_id = %contact,
        run_id = run.map(RunId::as_str),
        transition = what,
        refusal = %describe(&refusal),
        "the run's {what} was refused; nothing written, and a retry cannot help"
    );
    Ended::Refused(refusal)
}

/// A refusal in words, for logs and replies.
pub(crate) fn describe(refusal: &Refusal) -> String {
    match refusal {
        Refusal::NoRun => "the contact has no run".into(),
        Refusal::Superseded { current, status } => format!(
            "superseded by run {} ({status})",
            current.as_ref().map_or("without a run id", RunId::as_str)
        ),
        Refusal::AlreadyFinished { status } => format!("the run already ended as {status}"),
    }
}
