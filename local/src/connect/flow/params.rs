//! Each block's parameters, read and held to what its page of the flow
//! language allows (and, where a block's page says more, its page of the
//! Administrator Guide).

use std::time::Duration;

use serde_json::{Map, Value};

use super::{
    unpublished, unpublished::INVOCATION_ID, Block, Collect, FlowError, Prompt, ResponseType,
    WaitTime, LAMBDA_RETURNED,
};

/// The longest `InvocationTimeLimitSeconds` of a synchronous invocation, and
/// of an asynchronous one: "You can enter maximum of 8 seconds for Synchronous
/// mode and 60 seconds for Asynchronous mode" (the Administrator Guide, "Flow
/// block in Amazon Connect: AWS Lambda function"). The API Reference's
/// InvokeLambdaFunction says "no larger than 8" for both; it does not describe
/// the asynchronous mode at all, so the guide's limit is taken for that mode.
const SYNC_LIMIT_S: u64 = 8;
const ASYNC_LIMIT_S: u64 = 60;
/// A Wait's static `TimeoutSeconds`: "a positive integer value no greater than
/// 604800 (seven days)" (the flow language's Wait).
pub(super) const A_WEEK_S: u64 = 604_800;

/// A block's parameters, and who to blame for a bad one.
struct Params<'a> {
    id: &'a str,
    map: &'a Map<String, Value>,
}

impl Params<'_> {
    fn invalid(&self, problem: impl Into<String>) -> FlowError {
        FlowError::Invalid {
            id: self.id.to_owned(),
            problem: problem.into(),
        }
    }

    fn get(&self, name: &'static str) -> Result<&Value, FlowError> {
        self.map
            .get(name)
            .ok_or_else(|| FlowError::MissingParameter {
                id: self.id.to_owned(),
                parameter: name,
            })
    }

    /// A text parameter, static or a reference.
    fn text(&self, name: &'static str) -> Result<String, FlowError> {
        let value = self.get(name)?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.invalid(format!("{name} {value} is not text")))
    }

    /// A parameter that must be "a single valid JSONPath identifier".
    fn reference(&self, name: &'static str) -> Result<String, FlowError> {
        let text = self.text(name)?;
        match text.starts_with("$.") && !text.contains(char::is_whitespace) {
            true => Ok(text),
            false => Err(self.invalid(format!("{name} {text:?} is not a JSONPath reference"))),
        }
    }

    /// A whole number from `least` to `most`, set statically: a JSON integer,
    /// or a string of its digits, as the console's exports write numbers ("8").
    /// Not a decimal, a negative number, or a `$.` reference.
    fn whole(&self, name: &'static str, least: u64, most: u64) -> Result<u64, FlowError> {
        let value = self.get(name)?;
        if value.as_str().is_some_and(|s| s.starts_with('$')) {
            return Err(self.invalid(format!("{name} {value} must be set statically")));
        }
        let whole = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            _ => None,
        };
        whole.filter(|n| (least..=most).contains(n)).ok_or_else(|| {
            self.invalid(format!(
                "{name} {value} is not a whole number from {least} to {most}"
            ))
        })
    }

    fn seconds(&self, name: &'static str, most: u64) -> Result<Duration, FlowError> {
        self.whole(name, 1, most).map(Duration::from_secs)
    }

    /// An object parameter; absent is empty.
    fn object(&self, name: &'static str) -> Result<Map<String, Value>, FlowError> {
        match self.map.get(name) {
            None => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(other) => Err(self.invalid(format!("{name} {other} is not an object"))),
        }
    }
}

/// The parameters each action's page lists (and, on the two that take it,
/// the unpublished invocation id); any other is refused by name. `None`: an
/// action the simulator does not play, refused as such.
fn parameters_of(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "InvokeLambdaFunction" => &[
            "LambdaFunctionARN",
            "InvocationTimeLimitSeconds",
            "InvocationType",
            "LambdaInvocationAttributes",
            "ResponseValidation",
            INVOCATION_ID,
        ],
        "Compare" => &["ComparisonValue"],
        "MessageParticipant" => &["Text", "SSML", "PromptId", "Media"],
        "Loop" => &["LoopCount"],
        "UpdateContactAttributes" => &["Attributes", "TargetContact"],
        "Wait" => &["TimeoutSeconds", "Events", INVOCATION_ID],
        "TransferToFlow" => &["ContactFlowId"],
        // "No parameters are expected."; EndFlowExecution's: "{ }".
        "DisconnectParticipant" | "TransferContactToQueue" | "EndFlowExecution" => &[],
        _ => return None,
    })
}

/// The block `id` of type `kind`, or `None` with why the simulator cannot
/// play it.
pub(super) fn block(
    id: &str,
    kind: &str,
    parameters: &Map<String, Value>,
    out: &mut Collect,
) -> Option<Block> {
    let p = Params {
        id,
        map: parameters,
    };
    if let Some(known) = parameters_of(kind) {
        for name in parameters.keys().filter(|n| !known.contains(&n.as_str())) {
            out.refuse(p.invalid(format!("{kind} takes no parameter {name}")));
        }
    }
    let end = |target| Block::End {
        how: kind.to_owned(),
        target,
    };
    match kind {
        "InvokeLambdaFunction" => lambda(&p, out),
        "Compare" => out
            .keep(p.reference("ComparisonValue"))
            .map(|value| Block::Compare { value }),
        "MessageParticipant" => out.keep(prompt(&p)).map(|prompt| Block::Message { prompt }),
        "Loop" => out.keep(loop_count(&p)).map(|count| Block::Loop { count }),
        "UpdateContactAttributes" => out
            .keep(attributes(&p))
            .map(|attributes| Block::SetAttributes { attributes }),
        "Wait" => wait(&p, out),
        "TransferToFlow" => out.keep(p.text("ContactFlowId")).map(Some).map(end),
        "DisconnectParticipant" | "EndFlowExecution" | "TransferContactToQueue" => Some(end(None)),
        other => {
            out.refuse(FlowError::Unsupported {
                id: id.to_owned(),
                kind: other.to_owned(),
            });
            None
        }
    }
}

/// `Loop`'s `LoopCount`: "between 0 and 100 (inclusive). Must either be fully
/// static or fully dynamic." (the flow language's Loop); the simulator plays
/// the static one.
fn loop_count(p: &Params) -> Result<u32, FlowError> {
    if p.map
        .get("LoopCount")
        .and_then(Value::as_str)
        .is_some_and(|c| c.starts_with('$'))
    {
        return Err(p.invalid("a dynamic LoopCount, which the simulator does not play"));
    }
    let count = p.whole("LoopCount", 0, 100)?;
    Ok(u32::try_from(count).expect("at most 100"))
}

/// `InvokeLambdaFunction`: an invocation, or *Load Lambda result*.
fn lambda(p: &Params, out: &mut Collect) -> Option<Block> {
    let response = out.keep(
        ResponseType::from_parameter(p.map.get("ResponseValidation")).map_err(|e| p.invalid(e)),
    );
    if p.map.contains_key(INVOCATION_ID) {
        if p.map.contains_key("LambdaFunctionARN") {
            out.refuse(p.invalid("names both a function and an invocation to load"));
        }
        let invocation = out.keep(p.reference(INVOCATION_ID));
        return Some(Block::LoadResult {
            invocation: invocation?,
            response: response?,
        });
    }
    let asynchronous = match p.map.get("InvocationType") {
        None => Some(unpublished::ASYNCHRONOUS_WHEN_UNSAID),
        Some(Value::String(s)) if s == "SYNCHRONOUS" => Some(false),
        Some(Value::String(s)) if s == "ASYNCHRONOUS" => Some(true),
        Some(other) => {
            out.refuse(p.invalid(format!(
                "InvocationType {other} is not SYNCHRONOUS or ASYNCHRONOUS"
            )));
            None
        }
    };
    let most = match asynchronous {
        Some(true) => ASYNC_LIMIT_S,
        _ => SYNC_LIMIT_S,
    };
    // Required: the flow language's InvokeLambdaFunction gives no default
    // ("Must be greater than 0, no larger than 8, and an integer. Must be set
    // statically."), and the block's page asks for it ("Enter how long to wait
    // for Lambda to time out").
    let time_limit = out.keep(p.seconds("InvocationTimeLimitSeconds", most));
    let function_arn = out.keep(p.text("LambdaFunctionARN"));
    let attributes = out.keep(p.object("LambdaInvocationAttributes"));
    Some(Block::Invoke {
        function_arn: function_arn?,
        time_limit: time_limit?,
        asynchronous: asynchronous?,
        attributes: attributes?,
        response: response?,
    })
}

/// `MessageParticipant`: exactly one of `Text`, `SSML` and `PromptId`.
fn prompt(p: &Params) -> Result<Prompt, FlowError> {
    if p.map.contains_key("Media") {
        return Err(p.invalid("plays Media, which the simulator does not"));
    }
    let given: Vec<Prompt> = [
        ("Text", Prompt::Text as fn(String) -> Prompt),
        ("SSML", Prompt::Ssml),
        ("PromptId", Prompt::Stored),
    ]
    .into_iter()
    .filter_map(|(name, make)| {
        p.map
            .get(name)
            .and_then(Value::as_str)
            .map(|v| make(v.to_owned()))
    })
    .collect();
    match <[Prompt; 1]>::try_from(given) {
        Ok([prompt]) => Ok(prompt),
        Err(_) => Err(p.invalid("needs exactly one of Text, SSML and PromptId")),
    }
}

/// `UpdateContactAttributes` on the current contact. Keys "can include only
/// alphanumeric, dash, and underscore characters" (the API Reference's
/// UpdateContactAttributes, the rule of the contact's attributes however set).
fn attributes(p: &Params) -> Result<Map<String, Value>, FlowError> {
    match p.map.get("TargetContact").map(|t| t.as_str()) {
        None | Some(Some("Current")) => {}
        Some(Some("Related")) => {
            return Err(
                p.invalid("sets the related contact's attributes, which the simulator does not")
            )
        }
        Some(_) => return Err(p.invalid("TargetContact is not a static Current or Related")),
    }
    let attributes = p.object("Attributes")?;
    let bad_key = |k: &String| {
        !k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    };
    if let Some(key) = attributes.keys().find(|k| bad_key(k)) {
        return Err(p.invalid(format!(
            "attribute key {key:?} is not only alphanumeric, dash and underscore characters"
        )));
    }
    match attributes.values().find(|v| !v.is_string()) {
        Some(value) => Err(p.invalid(format!("attribute value {value} is not text"))),
        None => Ok(attributes),
    }
}

/// `Wait` for an asynchronous invocation. A plain timed Wait is refused: the
/// simulator's contacts are voice calls, and on voice Connect allows a Wait
/// "only in Inbound flow when the Keep running while waiting option, or the
/// Set event-based wait option is selected" (the Administrator Guide, "Flow
/// block in Amazon Connect: Wait"); of those, the simulator plays the wait for
/// a Lambda.
fn wait(p: &Params, out: &mut Collect) -> Option<Block> {
    let time = match p.map.get("TimeoutSeconds").and_then(Value::as_str) {
        Some(path) if path.starts_with("$.") => Some(WaitTime::Reference(path.to_owned())),
        _ => out
            .keep(p.seconds("TimeoutSeconds", A_WEEK_S))
            .map(WaitTime::Static),
    };
    let events: Vec<&str> = match p.map.get("Events") {
        None => Vec::new(),
        Some(Value::Array(events)) if events.iter().all(Value::is_string) => {
            events.iter().filter_map(Value::as_str).collect()
        }
        Some(other) => {
            out.refuse(p.invalid(format!("Events {other} is not a static list of names")));
            return None;
        }
    };
    if events.is_empty() {
        out.refuse(p.invalid(
            "a plain timed Wait, which Connect does not allow on a voice call \
             (only event-based, or with Keep running while waiting)",
        ));
        return None;
    }
    if let Some(other) = events.iter().find(|e| **e != LAMBDA_RETURNED) {
        out.refuse(p.invalid(format!(
            "waits for the event {other:?}, which the simulator does not play"
        )));
    }
    let invocation = out.keep(p.reference(INVOCATION_ID));
    Some(Block::Wait {
        time: time?,
        invocation: invocation?,
    })
}
