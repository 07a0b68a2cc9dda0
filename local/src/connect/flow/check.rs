//! The reference's rules on a flow as a whole, on its Identifiers, on each
//! block's error branches, and on the flow types a block may be used in on a
//! voice call; and `local-stack flow check`, which reports every refusal of a
//! file.

use std::{collections::HashMap, io::Write, path::PathBuf};

use serde_json::Value;

use super::{unpublished, Collect, Flow, FlowError, NO_MATCHING_CONDITION, NO_MATCHING_ERROR};

/// "Currently the only supported version is 2019-10-30." ("Example flow in
/// Amazon Connect Flow language")
const VERSION: &str = "2019-10-30";
/// "A single Flow may have no more than 250 Actions defined." (the same page)
const MOST_ACTIONS: usize = 250;
/// CreateContactFlow's `Content`: "Maximum length of 256000."
const MOST_CONTENT: usize = 256_000;
/// "This Identifier can be up to 50 characters long" ("Actions in the Amazon
/// Connect Flow Language"), counted as [`unpublished::identifier_length`] says.
const MOST_IDENTIFIER: usize = 50;
/// "The following characters are not allowed in the Identifier field" (the
/// same page).
const FORBIDDEN: &[char] = &[
    '%', ':', '(', '\\', '/', ')', '=', '$', ',', ';', '[', ']', '{', '}',
];
/// "The following strings are not allowed in the Identifier field" (the same
/// page).
const RESERVED: &[&str] = &[
    "__proto__",
    "constructor",
    "__defineGetter__",
    "__defineSetter__",
    "toString",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "valueOf",
];

/// Connect's flow types, as the blocks' pages name them; each with the name
/// the console's exports give it in `Metadata.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowType {
    Inbound,
    CustomerQueue,
    CustomerHold,
    CustomerWhisper,
    AgentHold,
    AgentWhisper,
    TransferToAgent,
    TransferToQueue,
}

use FlowType::*;

const ALL: &[FlowType] = &[
    Inbound,
    CustomerQueue,
    CustomerHold,
    CustomerWhisper,
    AgentHold,
    AgentWhisper,
    TransferToAgent,
    TransferToQueue,
];

impl FlowType {
    /// The name in a console export's `Metadata.type`.
    pub fn export_name(self) -> &'static str {
        match self {
            Inbound => "contactFlow",
            CustomerQueue => "customerQueue",
            CustomerHold => "customerHold",
            CustomerWhisper => "customerWhisper",
            AgentHold => "agentHold",
            AgentWhisper => "agentWhisper",
            TransferToAgent => "agentTransfer",
            TransferToQueue => "queueTransfer",
        }
    }
}

/// The flow types a block may be used in on a voice call, per its page (the
/// flow language's Restrictions, and the Administrator Guide's block page where
/// the two differ: then the narrower).
fn flow_types_on_voice(kind: &str) -> &'static [FlowType] {
    match kind {
        // "This action is supported by all channels and in all types of
        // flows" (InvokeLambdaFunction; the block's page lists all eight);
        // "available in every type of flow" (Compare); "any type of flow"
        // (UpdateContactAttributes); "supported in every type of flow" (Loop).
        "InvokeLambdaFunction" | "Compare" | "UpdateContactAttributes" | "Loop" => ALL,
        // "supported in contact flows, transfer flows, whisper flows, and
        // customer queue flows. It is not supported in hold flows."
        "MessageParticipant" => &[
            Inbound,
            TransferToAgent,
            TransferToQueue,
            CustomerWhisper,
            AgentWhisper,
            CustomerQueue,
        ],
        // The flow language says every type, chat only; the Administrator
        // Guide ("Flow block in Amazon Connect: Wait") says "Inbound flow,
        // Customer Queue flow" and, for voice, "only in Inbound flow".
        "Wait" => &[Inbound],
        // "available in inbound flows and transfer flows"
        "TransferToFlow" => &[Inbound, TransferToAgent, TransferToQueue],
        // "contact flows, transfer flows, and customer queue flows"
        "DisconnectParticipant" => &[Inbound, TransferToAgent, TransferToQueue, CustomerQueue],
        // TransferContactToQueue: "supported in inbound contact flows and
        // transfer flows"
        "TransferContactToQueue" => &[Inbound, TransferToAgent, TransferToQueue],
        // EndFlowExecution: "available only in whisper flows and customer
        // queue flows"
        "EndFlowExecution" => &[CustomerWhisper, AgentWhisper, CustomerQueue],
        _ => &[],
    }
}

/// The ErrorTypes each action's page lists under Errors. A synchronous
/// Lambda's *Timeout* branch (the Administrator Guide's block page) is not
/// among them: its flow-language name is unpublished, so it is refused, and a
/// timeout is an error for `NoMatchingError` ("After this time, the contact
/// routes down the Error branch", "Grant Amazon Connect access to your AWS
/// Lambda functions").
fn error_types(kind: &str) -> &'static [&'static str] {
    match kind {
        "InvokeLambdaFunction"
        | "MessageParticipant"
        | "UpdateContactAttributes"
        | "TransferToFlow" => &[NO_MATCHING_ERROR],
        "Compare" => &[NO_MATCHING_CONDITION],
        "Wait" => &[NO_MATCHING_ERROR, "ParticipantNotFound"],
        "TransferContactToQueue" => &["QueueAtCapacity", NO_MATCHING_ERROR],
        // Loop, DisconnectParticipant, EndFlowExecution: "Errors: None."
        _ => &[],
    }
}

/// Actions that "terminate ... This is because Transitions must be defined
/// as an empty object" ("Actions in the Amazon Connect Flow Language"):
/// DisconnectParticipant "stops this flow from running"; EndFlowExecution "is
/// always a terminal action".
const TERMINAL: &[&str] = &["DisconnectParticipant", "EndFlowExecution"];

/// The rules on the flow as a whole.
pub(super) fn whole(text: &str, version: Option<&str>, actions: usize, out: &mut Collect) {
    let refuse = |out: &mut Collect, problem: String| out.refuse(FlowError::Flow(problem));
    if version != Some(VERSION) {
        refuse(out, format!("Version {version:?} is not {VERSION:?}"));
    }
    if actions > MOST_ACTIONS {
        refuse(out, format!("{actions} actions, over {MOST_ACTIONS}"));
    }
    let length = text.chars().count();
    if length > MOST_CONTENT {
        refuse(out, format!("{length} characters, over {MOST_CONTENT}"));
    }
}

/// The flow type `Metadata.type` declares, or the one read when it declares
/// none ([`unpublished::FLOW_TYPE_WHEN_UNDECLARED`]).
pub(super) fn flow_type(metadata: Option<&Value>) -> Result<FlowType, FlowError> {
    match metadata.and_then(|m| m.get("type")) {
        None => Ok(unpublished::FLOW_TYPE_WHEN_UNDECLARED),
        Some(declared) => ALL
            .iter()
            .copied()
            .find(|t| declared.as_str() == Some(t.export_name()))
            .ok_or_else(|| {
                FlowError::Flow(format!(
                    "Metadata.type {declared} is not a flow type the reference describes"
                ))
            }),
    }
}

/// Each Identifier: unique, at most 50 characters, none forbidden, not a
/// reserved name ("Actions in the Amazon Connect Flow Language").
pub(super) fn identifiers<'a>(ids: impl Iterator<Item = &'a str>, out: &mut Collect) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for id in ids {
        let invalid = |problem: String| FlowError::Invalid {
            id: id.to_owned(),
            problem,
        };
        if let Some(first) = seen.insert(unpublished::identifier_key(id), id) {
            out.refuse(invalid(format!(
                "the Identifier is already {first:?}'s: it must be unique in the flow"
            )));
        }
        let length = unpublished::identifier_length(id);
        // The page is silent on an empty Identifier; strictest reading: refused.
        if length == 0 || length > MOST_IDENTIFIER {
            out.refuse(invalid(format!(
                "the Identifier is {length} characters long, not 1 to {MOST_IDENTIFIER}"
            )));
        }
        if let Some(c) = id.chars().find(|c| FORBIDDEN.contains(c)) {
            out.refuse(invalid(format!(
                "the Identifier holds {c:?}, which Connect forbids"
            )));
        }
        if RESERVED.contains(&id) {
            out.refuse(invalid("the Identifier is a name Connect reserves".into()));
        }
    }
}

/// Whether a block of type `kind` may be used in a flow of type `flow` on a
/// voice call.
pub(super) fn allowed(id: &str, kind: &str, flow: FlowType, out: &mut Collect) {
    let types = flow_types_on_voice(kind);
    // A type the simulator does not play at all is refused by name elsewhere.
    if !types.is_empty() && !types.contains(&flow) {
        out.refuse(FlowError::Invalid {
            id: id.to_owned(),
            problem: format!(
                "{kind} is not allowed in a {} flow on a voice call",
                flow.export_name()
            ),
        });
    }
}

/// A block's error branches: only the ErrorTypes its page lists, each once;
/// and no transitions at all from a terminal block.
pub(super) fn branches(
    id: &str,
    kind: &str,
    errors: &[(String, String)],
    empty: bool,
    out: &mut Collect,
) {
    let invalid = |problem: String| FlowError::Invalid {
        id: id.to_owned(),
        problem,
    };
    let listed = error_types(kind);
    for (i, (error, _)) in errors.iter().enumerate() {
        if !listed.contains(&error.as_str()) {
            out.refuse(invalid(format!(
                "the ErrorType {error:?} is not one of {kind}'s ({listed:?})"
            )));
        } else if errors[..i].iter().any(|(e, _)| e == error) {
            out.refuse(invalid(format!("two branches for the ErrorType {error:?}")));
        }
    }
    if TERMINAL.contains(&kind) && !empty {
        out.refuse(invalid(format!(
            "{kind} ends the flow: its Transitions must be empty"
        )));
    }
}

/// `local-stack flow check`: loads each file as the simulator does and writes
/// to `out` every refusal, one a line (the file, then the block it concerns);
/// whether every file loaded.
pub fn check_files(files: &[PathBuf], out: &mut impl Write) -> std::io::Result<bool> {
    let mut all = true;
    for file in files {
        let shown = file.display();
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(err) => {
                all = false;
                writeln!(out, "{shown}: cannot be read: {err}")?;
                continue;
            }
        };
        match Flow::parse(&text) {
            Ok(flow) => writeln!(
                out,
                "{shown}: loads ({} blocks, a {} flow)",
                flow.actions.len(),
                flow.kind.export_name()
            )?,
            Err(refused) => {
                all = false;
                for refusal in &refused.refusals {
                    writeln!(out, "{shown}: {refusal}")?;
                }
            }
        }
    }
    Ok(all)
}
