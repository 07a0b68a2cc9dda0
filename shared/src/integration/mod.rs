//! The integration function framework: an integration function is only its work,
//! an `async fn(&IntegrationContext, &str) -> Result<String, Cause>`; [`handle`]
//! does the rest.
//!
//! For an integration request (sent by start, or by the original Rules Engine) it
//! validates the request, loads the contact's state, requires
//! `CurrentRule_functionOutputKey`, marks the run `RUN`, logs `INTEGRATION_RUN`,
//! calls the work, writes `DONE` with the output or `ERROR` with the cause in one
//! conditional transaction, and logs `INTEGRATION_END`. Invoked directly by
//! Connect's asynchronous "Invoke AWS Lambda function" block (native async mode),
//! it opens the run itself, does the same, and answers with the flat string map
//! Connect expects. A keep-warm ping is answered without touching state.
//!
//! What reaches Lambda: a malformed integration request, or an invocation that is
//! neither a request, a Connect event nor a ping, is an error (so an on-failure
//! destination records it); a DynamoDB failure is an error (so Lambda's retry can
//! redo the work, which `run` allows); a refused transition (superseded run,
//! already timed out) is logged and is a success, since no retry can help. An
//! event with Connect's shape (`Details`), whatever its `Name`, is never a
//! Lambda error: one it cannot use (no contact id, no output key...) is answered
//! with `IntegrationStatus` `ERROR` and a cause, as start and check-timeout do.

mod analytics;
mod native;
mod output;
pub mod request;
mod run;
mod settings;

use std::fmt;

use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

pub use analytics::RuleInfo;
pub use request::{IntegrationRequest, Invocation, RequestError};
pub use settings::{seconds, Settings};

use crate::{
    connect::{Answer, Instance},
    Clock, ContactId, ContactState, RunId, Store, StoreError,
};

// The rule's keys and the cause's limit, where integration functions find them.
pub use crate::keys::{OUTPUT_KEY, PAYLOAD, RULE_FUNCTION_NAME, TIMEOUT};
pub use crate::limits::MAX_CAUSE_BYTES;

/// What an integration function needs, built once in `main` and lent to every
/// invocation.
pub struct Deps {
    pub store: Store,
    pub settings: Settings,
    /// This execution environment, for the keep-warm reply.
    pub instance: Instance,
}

impl Deps {
    pub fn new(store: Store, settings: Settings) -> Self {
        Self {
            store,
            settings,
            instance: Instance::new(),
        }
    }
}

/// How the function was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// By an integration request from start (or the original Rules Engine).
    Request,
    /// By Connect's asynchronous Lambda block, with a contact flow event.
    Native,
}

/// What the work is given besides its payload.
pub struct IntegrationContext {
    pub(crate) contact_id: ContactId,
    pub(crate) run_id: Option<RunId>,
    pub(crate) mode: Mode,
    pub(crate) output_key: String,
    pub(crate) state: ContactState,
    pub(crate) original_request: Value,
    pub(crate) function_name: String,
    pub(crate) rule: RuleInfo,
    pub(crate) deadline: Option<DateTime<Utc>>,
    pub(crate) store: Store,
}

impl IntegrationContext {
    /// The contact's state key (its initial contact id).
    pub fn contact_id(&self) -> &ContactId {
        &self.contact_id
    }

    /// The run being worked on; `None` for a run written without a run id.
    pub fn run_id(&self) -> Option<&RunId> {
        self.run_id.as_ref()
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Where the output will be written (a dotted key writes inside JSON).
    pub fn output_key(&self) -> &str {
        &self.output_key
    }

    /// The contact's state as loaded before the run was marked `RUN`.
    pub fn state(&self) -> &ContactState {
        &self.state
    }

    /// The Connect event the run started from (parsed when it is JSON). It holds
    /// the caller's personal data: never log it.
    pub fn original_request(&self) -> &Value {
        &self.original_request
    }

    pub fn function_name(&self) -> &str {
        &self.function_name
    }

    /// The rule that asked for the run.
    pub fn rule(&self) -> &RuleInfo {
        &self.rule
    }

    /// When the run times out, if it has a deadline: work past it is wasted, since
    /// its `DONE` will be refused.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        self.deadline
    }

    /// The clock to read and to sleep with, so tests can stand in a manual one.
    pub fn clock(&self) -> &dyn Clock {
        self.store.clock()
    }
}

/// Why the work failed: written to `IntegrationErrorCause` (cut to
/// [`MAX_CAUSE_BYTES`]) and logged in `INTEGRATION_END`, so it must not hold
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause(String);

impl Cause {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// An error and its chain of sources, `outer: inner: ...`.
    pub fn from_error(err: &dyn std::error::Error) -> Self {
        Self::new(crate::telemetry::error_chain(err))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Cause {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Cause {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is returned to Lambda as a failed invocation.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// The request cannot be served; a retry cannot help, the on-failure
    /// destination records it. The request error is said in the message and not
    /// kept as a source as well, so that Lambda's error message (the chain of
    /// sources) says it once.
    #[error("bad request: {0}")]
    BadRequest(RequestError),
    /// DynamoDB failed; Lambda's retry may succeed, and may redo the work.
    #[error("the contact's state could not be read or written")]
    Store(#[from] StoreError),
}

impl From<RequestError> for IntegrationError {
    fn from(err: RequestError) -> Self {
        Self::BadRequest(err)
    }
}

impl From<IntegrationError> for Diagnostic {
    fn from(err: IntegrationError) -> Self {
        let error_type = match err {
            IntegrationError::BadRequest(_) => "BadRequest",
            IntegrationError::Store(_) => "StateUnavailable",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: Cause::from_error(&err).0,
        }
    }
}

/// Serves one invocation with `work`: the Lambda handler of an integration
/// function. See the module documentation for what it does with each kind of
/// invocation and what it returns.
pub async fn handle<W>(
    event: LambdaEvent<Value>,
    deps: &Deps,
    work: W,
) -> Result<Value, IntegrationError>
where
    W: AsyncFn(&IntegrationContext, &str) -> Result<String, Cause>,
{
    let LambdaEvent { payload, context } = event;
    match Invocation::from_value(payload) {
        Ok(Invocation::KeepWarm(ping)) => Ok(ping.reply(&deps.instance)),
        // Boxed: the run's future nests the work's, the SDK's and the runtime's, and
        // unboxed it takes the compiler past its layout depth limit in `main`.
        Ok(Invocation::Request(request)) => Box::pin(run::request(request, deps, work)).await,
        Ok(Invocation::Native(event)) => {
            Ok(Box::pin(native::serve(event, &context, deps, work)).await)
        }
        // Connect routes on an answer: a contact flow event it cannot read is
        // answered with ERROR rather than failed.
        Err(RequestError::Event(err)) => {
            // The event error's text never quotes the event (see `EventError`).
            tracing::error!(error = %err, "cannot read the contact flow event; state untouched");
            Ok(Answer::error(&err.to_string()).into_value())
        }
        Err(err) => {
            tracing::error!(error = %err, "refusing a malformed invocation; state untouched");
            Err(err.into())
        }
    }
}
