//! One run, from the `run` transition to `DONE`/`ERROR`: the path both kinds of
//! invocation share, and the integration request's way into it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tracing::Instrument;

use super::{
    analytics::Record, Cause, Deps, IntegrationContext, IntegrationError, IntegrationRequest, Mode,
    RuleInfo, FUNCTION_NAME, MAX_CAUSE_BYTES, OUTPUT_KEY,
};
use crate::{
    store::{
        limits::{value_bytes, MAX_ITEM_BYTES},
        INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START, INTEGRATION_STATUS,
    },
    time::parse_rules_engine,
    ContactId, ContactState, IntegrationStatus, ItemChange, Refusal, RunId, StoreError, Transition,
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
    let span = tracing::info_span!(
        "integration",
        contact_id = %request.contact_id,
        run_id = tracing::field::Empty,
        mode = "request",
    );
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
            .get_str(FUNCTION_NAME)
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
    let (output_key, removal) = match checked_output_key(&job.state, job.output_key.as_deref()) {
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

    let cause = match result {
        Ok(output) => {
            let change = state
                .set(&output_key, Value::String(output))
                .expect("the output key was checked above");
            match write_output(store, contact, run, change).await? {
                Ok(outcome) => {
                    return Ok(ended(outcome, &record, contact, run, Ok(()), store));
                }
                Err(cause) => cause,
            }
        }
        Err(cause) => cut(cause.as_str()),
    };
    let outcome = store.error(contact, run, &cause, &[removal]).await?;
    Ok(ended(outcome, &record, contact, run, Err(&cause), store))
}

/// Writes `DONE` with the output, or comes back with the cause when DynamoDB
/// cannot hold the output, so the run ends `ERROR` instead of half-written.
async fn write_output(
    store: &crate::Store,
    contact: &ContactId,
    run: Option<&RunId>,
    change: ItemChange,
) -> Result<Result<Transition, String>, StoreError> {
    let bytes = value_bytes(&change);
    if bytes > MAX_ITEM_BYTES {
        return Ok(Err(too_large(bytes)));
    }
    match store.done(contact, run, &[change]).await {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(err) if err.is_refused_as_invalid() => {
            tracing::warn!(error = %err, "DynamoDB refused the output; recording ERROR");
            Ok(Err(too_large(bytes)))
        }
        Err(err) => Err(err),
    }
}

fn too_large(bytes: usize) -> String {
    format!(
        "output too large: {bytes} bytes to store, and a DynamoDB item holds at most {MAX_ITEM_BYTES}"
    )
}

/// The output key, and the change that removes it (for `ERROR`); or the cause
/// that fails the run when the key is missing, malformed or one the run
/// transitions own.
fn checked_output_key(
    state: &ContactState,
    key: Option<&str>,
) -> Result<(String, ItemChange), String> {
    let key = key
        .filter(|key| !key.is_empty())
        .ok_or_else(|| format!("{OUTPUT_KEY} is not set in the contact's state"))?;
    let top = key.split('.').next().unwrap_or(key);
    if [
        INTEGRATION_STATUS,
        INTEGRATION_START,
        INTEGRATION_END,
        INTEGRATION_ERROR_CAUSE,
    ]
    .contains(&top)
    {
        return Err(format!(
            "{OUTPUT_KEY} names {top}, which only the run transitions write"
        ));
    }
    // Setting on a copy checks the key and yields the removal without touching
    // the state the work will see.
    let removal = state
        .clone()
        .set(key, Value::Null)
        .map_err(|err| format!("{OUTPUT_KEY} is not a valid state key: {err}"))?;
    Ok((key.to_owned(), removal))
}

/// Cuts a cause to [`MAX_CAUSE_BYTES`], on a character boundary; an empty cause
/// would read as no cause at all, so it is named.
fn cut(cause: &str) -> String {
    if cause.trim().is_empty() {
        return "the integration function failed without giving a cause".to_owned();
    }
    if cause.len() <= MAX_CAUSE_BYTES {
        return cause.to_owned();
    }
    let mut end = MAX_CAUSE_BYTES;
    while !cause.is_char_boundary(end) {
        end -= 1;
    }
    cause[..end].to_owned()
}

/// Logs how a finishing transition went and says how the run ended.
fn ended(
    outcome: Transition,
    record: &Record<'_>,
    contact: &ContactId,
    run: Option<&RunId>,
    result: Result<(), &str>,
    store: &crate::Store,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_keys_are_required_valid_and_not_the_run_s_own() {
        let state = ContactState::new(
            [("customer".to_owned(), json!({"id": 1, "echo": "x"}))]
                .into_iter()
                .collect(),
            None,
        );
        let (key, removal) = checked_output_key(&state, Some("customer.echo")).unwrap();
        assert_eq!(key, "customer.echo");
        assert_eq!(removal, ItemChange::put("customer", r#"{"id":1}"#));
        assert!(checked_output_key(&state, None)
            .unwrap_err()
            .contains("is not set"));
        assert!(checked_output_key(&state, Some("a..b"))
            .unwrap_err()
            .contains("not a valid state key"));
        assert!(checked_output_key(&state, Some("IntegrationStatus"))
            .unwrap_err()
            .contains("only the run transitions write"));
    }

    #[test]
    fn long_causes_are_cut_on_a_character_boundary() {
        let cause = "é".repeat(MAX_CAUSE_BYTES);
        let cut = cut(&cause);
        assert!(cut.len() <= MAX_CAUSE_BYTES && cut.len() >= MAX_CAUSE_BYTES - 1);
        assert_eq!(super::cut("short"), "short");
        assert!(super::cut(" ").contains("without giving a cause"));
    }
}
