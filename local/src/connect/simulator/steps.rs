//! What happened to a contact, step by step, as the simulator records it
//! for the timeline, the invariants and the bench.

use std::time::Duration;

/// One thing that happened to a contact, at `at` after the pass began (a
/// synchronous call, a wait: when it began; an asynchronous call's result: when
/// it was loaded).
#[derive(Debug, Clone)]
pub struct Step {
    pub at: Duration,
    pub what: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    /// A Lambda call answered (or failed): a synchronous one, or the result of
    /// an asynchronous one, loaded.
    Call(CallStep),
    /// An asynchronous invocation sent.
    Invoked {
        function: String,
        id: String,
    },
    /// A wait for an asynchronous invocation: how long it waited, at most
    /// how long, and whether the invocation returned.
    Waited {
        took: Duration,
        limit: Duration,
        returned: bool,
    },
    Message {
        text: String,
        /// `text`, `ssml` or `prompt`.
        kind: &'static str,
        length: Duration,
    },
    /// Connect retried a Lambda invocation (the Administrator Guide, "Flow
    /// block in Amazon Connect: AWS Lambda function": "retries up to three
    /// times"): `attempt` (1 = the first) failed with `failure`, and the next
    /// was sent at this step's time.
    Retried {
        function: String,
        attempt: usize,
        failure: String,
    },
    HungUp,
    Ended(String),
}

/// A Lambda call and its answer.
#[derive(Debug, Clone)]
pub struct CallStep {
    pub function: String,
    /// When it was sent, from the pass's start.
    pub sent_at: Duration,
    pub took: Duration,
    /// Connect's limit for it: the block's time limit.
    pub limit: Duration,
    pub asynchronous: bool,
    /// The `FlowFailure` it recorded, for check-timeout's failure record.
    pub failure: Option<String>,
    pub status: Option<String>,
    pub error: Option<String>,
    /// The answer carried the contact's state: the function read it, so its
    /// status is the run's (an `ERROR` said without it, when the store could
    /// not be reached, says nothing of the run).
    pub from_state: bool,
}
