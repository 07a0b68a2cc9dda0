//! Where the reference is silent, or does not publish the flow-language form
//! of what the Administrator Guide describes, the interpreter still has to do
//! something. Each such choice is made here, once, as the strictest reading
//! that keeps the Administrator Guide's own configuration working, with the
//! pages that leave it open. (The retry policy's open points are in
//! [`super::retry`], with the rest of that policy.)

use std::time::Duration;

use super::{Ending, FlowType};

/// The Wait block's event for an asynchronous Lambda invocation that has
/// finished. Unpublished: the flow language's Wait lists only
/// "CustomerReturned" and "BotParticipantDisconnected"; the Administrator
/// Guide ("Flow block in Amazon Connect: Wait", Set event based wait) names the
/// branch *Lambda returned* but not its JSON. To be checked against the
/// console's export of such a block before import.
pub const LAMBDA_RETURNED: &str = "LambdaReturned";

/// The parameter naming the invocation, of both the Wait on a Lambda and
/// *Load Lambda result*. Unpublished: the Administrator Guide ("Flow block in
/// Amazon Connect: AWS Lambda function") gives only the console's labels,
/// "Lambda Invocation RequestId" and `$.LambdaInvocation.InvocationId`.
pub const INVOCATION_ID: &str = "LambdaInvocationId";

/// The branch of *Keep running while waiting*. Unpublished: the
/// Administrator Guide ("Flow block in Amazon Connect: Wait") describes the
/// option and its *Continue* branch ("while the Wait block waits, the contact
/// runs the Continue branch"; the event moves it on) but the flow language's
/// Wait gives no JSON for either. Read: a Wait's condition `Equals Continue`
/// leads to the branch's first block; while the Wait waits, the contact plays
/// that branch, and the Wait's event or the end of its time moves the contact
/// on from wherever it is in the branch, cutting a message short. A branch
/// that runs out (a block with no next) leaves the contact waiting in silence
/// for the event or the time. To be checked against the console's export of
/// such a block before import.
pub const CONTINUE: &str = "Continue";

/// The reference is silent; strictest reading. No page says what becomes of
/// `$.External` when an `InvokeLambdaFunction` runs asynchronously ("If an
/// error does not occur, the response's attributes are available dynamically
/// under the $.External path" describes a response, which an asynchronous
/// invocation does not have until *Load Lambda result*). Read: the invocation
/// leaves `$.External` empty, so a flow must copy what it needs from an
/// earlier answer (into contact attributes) before it invokes asynchronously.
pub const AN_ASYNCHRONOUS_INVOKE_CLEARS_EXTERNAL: bool = true;

/// The reference is silent; strictest reading. The flow language's
/// MessageParticipant sends "a text message for other channels" than voice,
/// and a task has no participant to read it. Read: a `MessageParticipant`
/// on a task takes the error branch.
pub const A_TASK_IS_MESSAGED: bool = false;

/// The reference is silent; strictest reading. "Actions in the Amazon Connect
/// Flow Language" says what `NoMatchingError` does ("invoked when an error
/// occurs and no other Error matches") but not what happens when a block errs
/// and has neither a branch of that ErrorType nor a `NoMatchingError` one. The
/// contact goes nowhere the flow did not say: it ends there, as
/// [`Ending::Unhandled`], never on to the block's `NextAction`.
///
/// Not a refusal at load: the reference's own example ("Example flow in Amazon
/// Connect Flow language") has a `MessageParticipant`, which can err, with
/// `"Errors": []`, so a flow without every error branch is one Connect takes.
pub fn unhandled(block: &str, error: &str) -> Ending {
    Ending::Unhandled {
        block: block.to_owned(),
        error: error.to_owned(),
    }
}

/// The reference is silent ("Flow block in Amazon Connect: Wait" does not say
/// what a Wait does on an invocation that has already returned when the Wait
/// begins). Read: it takes the *Lambda returned* branch at once. The stricter
/// reading, that the return was an event the Wait missed and it waits out its
/// time, would lose every invocation that finished during the Play prompt the
/// same page suggests "while waiting for a Lambda execution to complete" and the
/// Lambda block's page puts between the invocation and the Wait: the guide's
/// own configuration would not work, so that reading is not taken.
pub const AN_EARLIER_RETURN_ENDS_A_WAIT: bool = true;

/// The reference is silent on what a Wait whose `TimeoutSeconds` is a
/// JSONPath does when the path resolves to nothing, or to something other
/// than a whole number of seconds from 1 to 604800 (the static rule of the
/// flow language's Wait). Strictest reading: the block errs.
pub fn wait_time(resolved: Option<&str>) -> Option<Duration> {
    let seconds: u64 = resolved?.parse().ok()?;
    (1..=super::params::A_WEEK_S)
        .contains(&seconds)
        .then(|| Duration::from_secs(seconds))
}

/// The reference is silent on whether `InvocationType` is required or what
/// it defaults to (older copies of the InvokeLambdaFunction page have no such
/// parameter). Read: absent is `SYNCHRONOUS`, whose 1–8 s range is the
/// narrower of the two.
pub const ASYNCHRONOUS_WHEN_UNSAID: bool = false;

/// Connect's flow type is not part of the flow language: "Example flow in
/// Amazon Connect Flow language" calls `Metadata` "An object that may be
/// filled in with data as desired". The console's exports (and the shipped
/// flows) keep it as `Metadata.type`, `contactFlow` for an inbound flow. A flow
/// without it is read as the type the simulator plays, an inbound flow on a
/// voice call, the only type in which a voice contact may Wait at all.
pub const FLOW_TYPE_WHEN_UNDECLARED: FlowType = FlowType::Inbound;

/// The reference is silent on how "up to 50 characters" counts an
/// Identifier. Read: as UTF-16 code units, as JavaScript's `length` counts
/// (the reserved names the page forbids are JavaScript's own), which counts a
/// character outside the Basic Multilingual Plane twice: stricter than
/// counting characters.
pub fn identifier_length(id: &str) -> usize {
    id.encode_utf16().count()
}

/// The reference says Identifiers "must be unique" but not whether case
/// counts. Strictest reading: two Identifiers that differ only in case are
/// duplicates.
pub fn identifier_key(id: &str) -> String {
    id.to_lowercase()
}

/// The flow-language form of *Load Lambda result* is unpublished, and with it
/// whose `ResponseValidation` holds for the answer it loads: that of the
/// block that invoked the function, or that of the block that loads it.
/// Strictest reading: both; `STRING_MAP` if either says so.
pub fn loaded_response(
    invoked: super::ResponseType,
    loading: super::ResponseType,
) -> super::ResponseType {
    use super::ResponseType::{Json, StringMap};
    match (invoked, loading) {
        (Json, Json) => Json,
        _ => StringMap,
    }
}

/// The Lambda answer's size limit. The Administrator Guide ("Grant Amazon
/// Connect access to your AWS Lambda functions") says both "The Lambda response
/// can be up to 32kb" and "The size of the returned data must be less than 32
/// KB of UTF-8 data"; it does not say what a kilobyte is, nor what is counted.
/// Strictest reading: fewer than 32,768 bytes, counted over the payload as the
/// Invoke API returned it.
pub const MOST_ANSWER_BYTES: usize = 32 * 1024 - 1;

/// `ResponseType` `JSON` lets the function "return any valid JSON, including
/// nested JSON" (the flow language's InvokeLambdaFunction), and the flow reads
/// it as `$.External.<key>`; the reference is silent on an answer that is not
/// an object (a bare string, number or array). Strictest reading: it is not
/// understood, so the block errs.
pub fn answer_object(
    answer: serde_json::Value,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    match answer {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The reference is silent on what a Wait on a Lambda does when the
/// invocation fails (an error, or no answer within its time limit). Read: the
/// invocation has returned, with its failure, so the Wait takes *Lambda
/// returned* and the *Load Lambda result* that follows takes its error branch;
/// a flow that took `WaitCompleted` instead would wait on for an invocation
/// that will never return.
pub const A_FAILED_INVOCATION_RETURNS: bool = true;

/// How big a contact's attributes are, against "up to 32,768 UTF-8 bytes
/// across all attributes for a contact" (the API Reference's
/// UpdateContactAttributes). The page is silent on whether the keys count.
/// Strictest reading: keys and values both.
pub fn attributes_size(attributes: &serde_json::Map<String, serde_json::Value>) -> usize {
    attributes
        .iter()
        .map(|(key, value)| key.len() + value.as_str().map_or(value.to_string().len(), str::len))
        .sum()
}
