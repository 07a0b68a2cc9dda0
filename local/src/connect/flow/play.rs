//! Playing a flow for one contact, block by block, as Connect does.
//!
//! A block that errs raises an error of a type: Compare's no match is
//! `NoMatchingCondition` (the flow language's Compare); every other error the
//! simulator meets is of no type its block's page names, so only
//! `NoMatchingError` takes it ("invoked when an error occurs and no other Error
//! matches", "Actions in the Amazon Connect Flow Language"). The block goes to
//! the branch of the error's own type, else to its `NoMatchingError` branch,
//! never on to its `NextAction`; with neither, the contact ends there
//! ([`unpublished::unhandled`]).

use super::{
    answer,
    keep_running::Waiting,
    unpublished::{self, CONTINUE},
    Action, Block, Call, Contact, Ending, Flow, FlowError, Memory, Prompt, ResponseType, WaitTime,
    Waited, LAMBDA_RETURNED, NO_MATCHING_CONDITION, NO_MATCHING_ERROR, WAIT_COMPLETED,
};

/// "You can have up to 32,768 UTF-8 bytes across all attributes for a
/// contact ... In the Set contact attributes block, when the attributes for a
/// contact exceed 32 KB, the contact is routed down the Error branch" (the API
/// Reference's UpdateContactAttributes), counted as
/// [`unpublished::attributes_size`] says.
const MOST_ATTRIBUTE_BYTES: usize = 32_768;

/// Plays the flow for `contact` until an ending block, a hang-up, or an error
/// no branch takes.
pub async fn play(
    flow: &Flow,
    contact: &mut impl Contact,
    memory: &mut Memory,
) -> Result<Ending, FlowError> {
    const MAX_STEPS: usize = 10_000;
    let mut at = flow.start.as_str();
    // A keep-running Wait that waits while its Continue branch plays.
    let mut waiting: Option<Waiting> = None;
    for _ in 0..MAX_STEPS {
        if let Some(moved) = waiting.as_ref().and_then(|w| w.moved_on(&*contact)) {
            waiting = None;
            match moved {
                Some(next) => at = next,
                None => return Ok(Ending::Block("end of flow".into())),
            }
            continue;
        }
        let action = &flow.actions[at];
        let keeps_running = memory.channel.hears_lambda_return();
        let step = match (&action.block, waiting.as_ref()) {
            (Block::Wait { time, invocation }, None)
                if keeps_running && action.condition(CONTINUE).is_some() =>
            {
                match Waiting::begin(action, time, invocation, &*contact, memory) {
                    Ok(began) => began.first(&mut waiting),
                    Err(why) => erred(why),
                }
            }
            (Block::Message { prompt }, Some(w)) => {
                let next = action.next.as_deref();
                message(prompt, next, contact, memory, Some(w)).await
            }
            _ => step(at, action, contact, memory).await,
        };
        match step {
            Step::Next(Some(next)) => at = next,
            // A Continue branch that ran out: the contact waits in silence.
            Step::Next(None) if waiting.is_some() => {
                let w = waiting.take().expect("checked");
                match w.in_silence(contact).await {
                    Some(next) => at = next,
                    None => return Ok(Ending::HungUp),
                }
            }
            Step::Next(None) => return Ok(Ending::Block("end of flow".into())),
            Step::Ended(ending) => return Ok(ending),
            Step::Erred { kind, why } => match action.on_error(kind) {
                Some(next) => at = next,
                None => return Ok(unpublished::unhandled(at, &why)),
            },
        }
    }
    Err(FlowError::Endless(MAX_STEPS))
}

/// Where a block leads: the next block (`None`: the flow has no next), the
/// flow's end, or an error for the block's error branches.
pub(super) enum Step<'a> {
    Next(Option<&'a str>),
    Ended(Ending),
    /// An error: of the ErrorType `kind`, or (`None`) of no type its block
    /// names; `why`, for an ending no branch takes.
    Erred {
        kind: Option<&'static str>,
        why: String,
    },
}

/// A `MessageParticipant`: its prompt resolved, held to what the contact's
/// channel takes ([`super::Channel::may_play`]), and played, whole or (on a
/// keep-running Wait's Continue branch, `waiting`) until the Wait moves on.
async fn message<'a>(
    prompt: &Prompt,
    next: Option<&'a str>,
    contact: &mut impl Contact,
    memory: &Memory,
    waiting: Option<&Waiting<'_>>,
) -> Step<'a> {
    let Some(prompt) = prompt.resolved(memory) else {
        return erred("nothing to play");
    };
    if !memory.channel.may_play(&prompt) {
        return erred(format!("no such message on {}", memory.channel.as_str()));
    }
    let heard = match waiting {
        Some(w) => w.play(&prompt, contact).await,
        None => contact.play(&prompt).await,
    };
    if heard {
        Step::Next(next)
    } else {
        Step::Ended(Ending::HungUp)
    }
}

/// An error of no type its block's page names.
pub(super) fn erred<'a>(why: impl Into<String>) -> Step<'a> {
    Step::Erred {
        kind: None,
        why: why.into(),
    }
}

/// Plays the block `at`.
async fn step<'a>(
    at: &'a str,
    action: &'a Action,
    contact: &mut impl Contact,
    memory: &mut Memory,
) -> Step<'a> {
    let next = Step::Next(action.next.as_deref());
    match &action.block {
        Block::Invoke {
            function_arn,
            time_limit,
            asynchronous,
            attributes,
            response,
        } => {
            let Some(function_arn) = memory.lookup(function_arn) else {
                return erred("the function's ARN resolves to nothing");
            };
            let call = Call {
                function_arn: &function_arn,
                time_limit: *time_limit,
                parameters: memory.resolve(attributes),
            };
            if !*asynchronous {
                let answer = contact.invoke(call).await;
                return answered(answer, *response, contact, memory, next);
            }
            match contact.invoke_async(call).await {
                Ok(id) => {
                    if unpublished::AN_ASYNCHRONOUS_INVOKE_CLEARS_EXTERNAL {
                        memory.external.clear();
                    }
                    memory.responses.insert(id.clone(), *response);
                    memory.invocation = Some(id);
                    next
                }
                Err(why) => erred(why),
            }
        }
        Block::LoadResult {
            invocation,
            response,
        } => {
            let Some(id) = memory.lookup(invocation) else {
                return erred("no invocation to load");
            };
            let invoked = memory.responses.get(&id).copied().unwrap_or(*response);
            let response = unpublished::loaded_response(invoked, *response);
            let answer = contact.load_result(&id).await;
            answered(answer, response, contact, memory, next)
        }
        Block::Compare { value } => compare(action, memory.lookup(value)),
        Block::Message { prompt } => {
            message(prompt, action.next.as_deref(), contact, memory, None).await
        }
        Block::Wait { time, invocation } => wait(action, time, invocation, contact, memory).await,
        Block::Loop { count } => {
            let done = memory.loops.entry(at.to_owned()).or_insert(0);
            let outcome = if *done < *count {
                *done += 1;
                "ContinueLooping"
            } else {
                *done = 0;
                "DoneLooping"
            };
            Step::Next(action.condition(outcome))
        }
        Block::SetAttributes { attributes } => {
            // "either all attributes are set or none are set"
            let mut all = memory.attributes.clone();
            all.extend(memory.resolve(attributes));
            if unpublished::attributes_size(&all) > MOST_ATTRIBUTE_BYTES {
                return erred("the contact's attributes would exceed 32 KB");
            }
            memory.attributes = all;
            next
        }
        Block::End { how, target: None } => Step::Ended(Ending::Block(how.clone())),
        Block::End {
            target: Some(target),
            ..
        } => match memory.lookup(target) {
            Some(to) => Step::Ended(Ending::Transfer(to)),
            None => erred("the flow to transfer to resolves to nothing"),
        },
    }
}

/// A Lambda answer read as the block's `ResponseValidation` says: under
/// `$.External`, then on; not understood, or no answer, the error branch.
fn answered<'a>(
    answer: Result<Vec<u8>, String>,
    response: ResponseType,
    contact: &mut impl Contact,
    memory: &mut Memory,
    next: Step<'a>,
) -> Step<'a> {
    let read = answer.and_then(|payload| answer::read(&payload, response));
    contact.answer_read(read.as_ref().map_err(String::as_str));
    match read {
        Ok(answer) => {
            memory.external = answer;
            next
        }
        Err(why) => erred(why),
    }
}

/// A Wait for an asynchronous invocation: its `LambdaReturned` branch, or
/// `WaitCompleted` when its time runs out first.
async fn wait<'a>(
    action: &'a Action,
    time: &WaitTime,
    invocation: &str,
    contact: &mut impl Contact,
    memory: &Memory,
) -> Step<'a> {
    let time = match wait_time(time, memory) {
        Ok(time) => time,
        Err(why) => return erred(why),
    };
    // An id that resolves to nothing is a wrong id: the Wait waits out its
    // time; so does every Wait of a task.
    let id = memory
        .lookup(invocation)
        .filter(|_| memory.channel.hears_lambda_return());
    let mut waited = contact.wait_for_lambda(id.as_deref(), time).await;
    if waited == Waited::AlreadyReturned && !unpublished::AN_EARLIER_RETURN_ENDS_A_WAIT {
        waited = contact.wait_for_lambda(None, time).await;
    }
    match waited {
        Waited::Returned | Waited::AlreadyReturned => Step::Next(action.condition(LAMBDA_RETURNED)),
        Waited::TimedOut => Step::Next(action.condition(WAIT_COMPLETED)),
        Waited::HungUp => Step::Ended(Ending::HungUp),
    }
}

/// A Wait's time, its reference resolved.
pub(super) fn wait_time(time: &WaitTime, memory: &Memory) -> Result<std::time::Duration, String> {
    match time {
        WaitTime::Static(time) => Ok(*time),
        WaitTime::Reference(path) => unpublished::wait_time(memory.lookup(path).as_deref())
            .ok_or_else(|| format!("TimeoutSeconds {path} is no number of seconds")),
    }
}

/// A Compare block: the first `Equals` condition the value meets, else the
/// error `NoMatchingCondition` (a value that resolves to nothing meets none).
fn compare(action: &Action, value: Option<String>) -> Step<'_> {
    let met = action
        .conditions
        .iter()
        .find(|(op, operand, _)| op == "Equals" && value.as_deref() == Some(operand.as_str()));
    match met {
        Some((_, _, to)) => Step::Next(Some(to)),
        None => Step::Erred {
            kind: Some(NO_MATCHING_CONDITION),
            why: "no condition matches".into(),
        },
    }
}

impl Action {
    /// Where an error of the ErrorType `kind` (`None`: of no named type)
    /// leads: its own branch, else `NoMatchingError`'s; `None` if neither.
    fn on_error(&self, kind: Option<&str>) -> Option<&str> {
        let branch = |wanted: &str| {
            self.errors
                .iter()
                .find(|(error, _)| error == wanted)
                .map(|(_, to)| to.as_str())
        };
        kind.and_then(branch).or_else(|| branch(NO_MATCHING_ERROR))
    }

    /// Where the result `operand` leads (every result a block gives has its
    /// condition: checked when the flow was read).
    pub(super) fn condition(&self, operand: &str) -> Option<&str> {
        self.conditions
            .iter()
            .find(|(_, o, _)| o == operand)
            .map(|(_, _, to)| to.as_str())
    }
}
