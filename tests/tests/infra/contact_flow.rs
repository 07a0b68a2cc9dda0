//! Checks the flows to import into Connect, `infra/contact-flows/integration.json`
//! (start, then check-timeout between messages), `integration-native.json`
//! (the rule's own function invoked by Connect asynchronously) and
//! `integration-async.json` (start invoked asynchronously, waiting until the
//! run ends): well-formed flow language, every transition to an existing
//! action, only the placeholders the README tells how to replace, the rule's
//! message played as the Rules Engine's flow plays it, nothing read from
//! `$.External` after an asynchronous invoke, every failed call recorded in
//! the state before the flow hands back, a backstop that rests on no Loop
//! count (none survives re-entry intact), messages a voice caller hears while
//! it waits, one message for a chat and none for a task, and the metadata the
//! console's flow editor keeps beside each block.

use std::collections::{BTreeSet, HashMap};

use check_timeout::failure::FlowFailure;
use integration_start::{wait::UNTIL_END, WaitMode};
use local_stack::connect::flow::{Prompt, Speech};
use shared::waiting::{WaitConfig, RULE_TIMEOUTS};

use crate::root;

mod metadata;
mod model;

use model::Flow;

/// Identifier characters Connect refuses.
const FORBIDDEN: &[char] = &[
    '%', ':', '(', '\\', '/', ')', '=', '$', ',', ';', '[', ']', '{', '}',
];

/// The most check-timeout calls in a row without a message to a voice
/// caller: each lasts up to 2 s, so the caller hears something at least
/// every few seconds.
const MOST_SILENT_POLLS: usize = 2;
/// The longest a voice caller waits in silence on an asynchronous flow
/// before its first message: start's own wait.
const MOST_SILENT_FIRST_WAIT_S: f64 = 2.0;

/// The asynchronous flows.
fn asynchronous() -> [Flow; 2] {
    [
        Flow::load("integration-native.json"),
        Flow::load("integration-async.json"),
    ]
}

/// A Wait's `TimeoutSeconds`.
fn wait_seconds(flow: &Flow, id: &str) -> f64 {
    let time = flow.param(id, "TimeoutSeconds").as_str().unwrap();
    time.parse().unwrap()
}

/// The invocation a flow's run is opened by: its one asynchronous Lambda
/// block, or the first block for the polling flow.
fn opening(flow: &Flow) -> String {
    flow.actions
        .keys()
        .find(|id| flow.param(id, "InvocationType") == "ASYNCHRONOUS")
        .cloned()
        .unwrap_or_else(|| flow.start.clone())
}

/// Over every path from `id`, the most messages the contact reads: a message
/// that errs (its error branch taken) is not read. (`seen`: each block's.)
fn messages_read(flow: &Flow, id: &str, seen: &mut HashMap<String, usize>) -> usize {
    if let Some(most) = seen.get(id) {
        return *most;
    }
    let message = flow.kind(id) == "MessageParticipant";
    let targets = flow.targets(id);
    let mut most = usize::from(message);
    for (label, to) in flow.edges(id) {
        if targets.contains(&to) {
            let read = message && !label.starts_with("NoMatching");
            most = most.max(usize::from(read) + messages_read(flow, &to, seen));
        }
    }
    seen.insert(id.to_owned(), most);
    most
}

/// Over every path from `id`, the most seconds of Waits in a row.
fn longest_wait(flow: &Flow, id: &str, seen: &mut HashMap<String, f64>) -> f64 {
    if let Some(most) = seen.get(id) {
        return *most;
    }
    let own = if flow.kind(id) == "Wait" {
        wait_seconds(flow, id)
    } else {
        0.0
    };
    let mut rest: f64 = 0.0;
    for to in flow.targets(id) {
        rest = rest.max(longest_wait(flow, &to, seen));
    }
    seen.insert(id.to_owned(), own + rest);
    own + rest
}

#[test]
fn every_transition_leads_to_an_existing_action_and_every_action_is_reachable() {
    for flow in Flow::all() {
        assert!(flow.actions.contains_key(&flow.start), "{}", flow.name);
        for id in flow.actions.keys() {
            let valid = id.len() <= 50 && !id.contains(FORBIDDEN);
            assert!(valid, "{}: {id:?} is not a valid Identifier", flow.name);
            for to in flow.targets(id) {
                assert!(
                    flow.actions.contains_key(&to),
                    "{}: {id} leads to {to}",
                    flow.name
                );
            }
        }
        let reachable = flow.reachable(&flow.start);
        let unreachable: Vec<_> = flow
            .actions
            .keys()
            .filter(|id| !reachable.contains(*id))
            .collect();
        assert!(
            unreachable.is_empty(),
            "{}: unreachable {unreachable:?}",
            flow.name
        );
    }
}

#[test]
fn the_flows_name_functions_and_flows_only_by_their_placeholders() {
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let flows = [
        "StartFunctionArn",
        "CheckTimeoutFunctionArn",
        "NextFlowArn",
        "ErrorFlowArn",
    ];
    // The native flow invokes the rule's own function (`CurrentRule_functionArn`).
    let native = &flows[1..];
    for (flow, expected) in Flow::all().iter().zip([&flows[..], native, &flows[..]]) {
        let text = flow.doc.to_string();
        let found: BTreeSet<&str> = text
            .split("{{")
            .skip(1)
            .map(|p| p.split("}}").next().unwrap_or(""))
            .collect();
        assert_eq!(found, expected.iter().copied().collect(), "{}", flow.name);
        assert!(
            !text.contains("arn:aws"),
            "{}: a real ARN is written into the flow",
            flow.name
        );
    }
    // The function placeholders are named after the stack's outputs.
    for output in ["StartFunctionArn", "CheckTimeoutFunctionArn"] {
        assert!(
            template.contains(&format!("\n  {output}:\n")),
            "the template has no output {output}"
        );
    }
}

#[test]
fn every_lambda_call_fits_its_limit_and_every_failure_is_recorded_before_the_flow_hands_back() {
    for flow in Flow::all() {
        let calls = flow
            .actions
            .keys()
            .filter(|id| flow.kind(id) == "InvokeLambdaFunction");
        for id in calls {
            let limit = flow.param(id, "InvocationTimeLimitSeconds").as_str();
            let asynchronous = flow.param(id, "InvocationType") == "ASYNCHRONOUS";
            if let Some(limit) = limit.map(|l| l.parse::<u64>().expect("whole seconds")) {
                let most = if asynchronous { 60 } else { 8 };
                assert!(
                    (1..=most).contains(&limit),
                    "{}: {id}: {limit} s",
                    flow.name
                );
            }
            if asynchronous {
                // The invocation outlasts what it waits for: start's wait
                // until the end, or the rule's longest timeout.
                let needed = match flow.param(id, "LambdaFunctionARN").as_str() {
                    Some("{{StartFunctionArn}}") => WaitMode::UntilEnd
                        .answer_limit(&WaitConfig::default())
                        .as_secs_f64(),
                    _ => *RULE_TIMEOUTS.end(),
                };
                let limit = limit
                    .expect("an asynchronous limit")
                    .parse::<f64>()
                    .unwrap();
                assert!(
                    limit >= needed,
                    "{}: {id}: {limit} s < {needed} s",
                    flow.name
                );
            }
            let failed = flow.target(id, "NoMatchingError");
            match flow.recorder(id) {
                // A failed record still leaves the flow by the installation's error flow.
                Some(failure) => {
                    assert!(
                        FlowFailure::parse(failure).is_some(),
                        "{}: {id}: {failure}",
                        flow.name
                    );
                    let error_flow = flow
                        .reachable(&failed)
                        .into_iter()
                        .any(|to| flow.param(&to, "ContactFlowId") == "{{ErrorFlowArn}}");
                    assert!(
                        error_flow,
                        "{}: {id}'s failure does not reach the error flow",
                        flow.name
                    );
                }
                None => assert!(
                    flow.recorder(&failed).is_some(),
                    "{}: {id}'s failure goes to {failed}, not to check-timeout's record",
                    flow.name
                ),
            }
        }
    }
}

#[test]
fn done_goes_on_and_only_an_open_run_is_polled_again() {
    let flow = Flow::load("integration.json");
    let compares = flow.actions.keys().filter(|id| {
        flow.kind(id) == "Compare"
            && flow.param(id, "ComparisonValue") == "$.External.IntegrationStatus"
    });
    for compare in compares {
        for (status, to) in flow.edges(compare) {
            let polls = flow.reachable(&to).iter().any(|id| flow.is_poll(id));
            match status.as_str() {
                "DONE" | "ERROR" | "TIMEOUT" => assert!(!polls, "{compare}: {status} polls again"),
                "START" | "RUN" => assert!(
                    polls || flow.recorder(&to) == Some("gave-up"),
                    "{compare}: {status} is neither polled again nor given up"
                ),
                _ => {}
            }
        }
    }
}

#[test]
fn the_backstop_rests_on_no_loop_count_and_outlasts_any_run() {
    let budget = WaitConfig::default().budget.as_secs_f64();
    for flow in Flow::all() {
        // No Loop block and no cycle: a contact that re-enters the flow finds
        // nothing part-used, and every pass ends within a bounded number of blocks.
        let loops: Vec<_> = flow
            .actions
            .keys()
            .filter(|id| flow.kind(id) == "Loop")
            .collect();
        assert!(loops.is_empty(), "{}: {loops:?}", flow.name);
        for id in flow.actions.keys() {
            let back = flow
                .targets(id)
                .iter()
                .any(|to| flow.reachable(to).contains(id));
            assert!(!back, "{}: {id} is on a cycle", flow.name);
        }
        // Before the flow gives up, every open run has passed its deadline:
        // polls of check-timeout's budget cover the longest rule timeout, and
        // on every channel the Waits cover the invocation's time limit.
        let polls = flow.longest_run(&flow.start, &|id| flow.is_poll(id), &|_| false);
        let invoke = opening(&flow);
        let asynchronous = flow.param(&invoke, "InvocationType") == "ASYNCHRONOUS";
        let needed = if asynchronous {
            let limit = flow.param(&invoke, "InvocationTimeLimitSeconds");
            limit.as_str().unwrap().parse().unwrap()
        } else {
            *RULE_TIMEOUTS.end()
        };
        for channel in ["VOICE", "CHAT", "TASK"] {
            let flow = flow.clone().on(channel);
            let shortest_wait = if asynchronous {
                // Each channel's own path: the first Wait, then its second.
                let first = flow.target(&invoke, "next");
                let second = flow
                    .reachable(&first)
                    .into_iter()
                    .filter(|id| flow.kind(id) == "Wait" && *id != first)
                    .map(|id| wait_seconds(&flow, &id))
                    .fold(f64::INFINITY, f64::min);
                wait_seconds(&flow, &first) + second
            } else {
                0.0
            };
            let covered = polls as f64 * budget + shortest_wait;
            assert!(
                covered >= needed,
                "{} on {channel}: gives up after {covered} s, a run may take {needed} s",
                flow.name
            );
            if asynchronous {
                // Nor do they wait past it: the caller would wait on a
                // result that cannot come.
                let longest = longest_wait(&flow, &flow.start, &mut HashMap::new());
                assert!(
                    longest <= needed,
                    "{} on {channel}: waits {longest} s",
                    flow.name
                );
            }
        }
    }
}

#[test]
fn a_voice_caller_hears_a_message_between_every_few_polls_or_while_it_waits() {
    let polling = Flow::load("integration.json").on("VOICE");
    let message = |id: &str| polling.kind(id) == "MessageParticipant";
    let polls = polling.longest_run(&polling.start, &|id| polling.is_poll(id), &message);
    assert!(polls <= MOST_SILENT_POLLS, "{polls} polls in silence");

    let speech = Speech::default();
    for flow in asynchronous() {
        let flow = flow.on("VOICE");
        let first = flow.target(&opening(&flow), "next");
        assert_eq!(flow.kind(&first), "Wait", "{}", flow.name);
        assert!(wait_seconds(&flow, &first) <= MOST_SILENT_FIRST_WAIT_S);
        assert!(flow
            .edges(&first)
            .iter()
            .all(|(label, _)| label != "Continue"));
        // Then one Wait that keeps running: its Continue branch plays the
        // rule's message and comfort messages that last as long as it waits.
        let waits: Vec<String> = flow
            .reachable(&first)
            .into_iter()
            .filter(|id| flow.kind(id) == "Wait" && *id != first)
            .collect();
        assert_eq!(waits.len(), 1, "{}: {waits:?}", flow.name);
        let mut at = flow.target(&waits[0], "Continue");
        let mut comfort = 0.0;
        loop {
            // "Wait blocks can't be nested inside a Continue branch."
            assert_ne!(flow.kind(&at), "Wait", "{}: {at}", flow.name);
            if flow.kind(&at) == "MessageParticipant" {
                if let Some(ssml) = flow
                    .param(&at, "SSML")
                    .as_str()
                    .filter(|t| !t.starts_with("$."))
                {
                    comfort += speech.length(&Prompt::Ssml(ssml.to_owned())).as_secs_f64();
                }
            }
            match flow
                .edges(&at)
                .into_iter()
                .find(|(label, _)| label == "next" || label == "NoMatchingCondition")
            {
                Some((_, next)) => at = next,
                None => break,
            }
        }
        let waited = wait_seconds(&flow, &waits[0]);
        assert!(
            comfort >= waited,
            "{}: {comfort} s of comfort for a {waited} s wait",
            flow.name
        );
    }
}

#[test]
fn the_flows_check_the_channel_a_chat_reads_one_text_message_and_a_task_none() {
    for flow in Flow::all() {
        let channel = flow
            .actions
            .keys()
            .find(|id| flow.param(id, "ComparisonValue") == "$.Channel")
            .unwrap_or_else(|| panic!("{}: no compare of $.Channel", flow.name))
            .clone();
        let labels: Vec<String> = flow.edges(&channel).into_iter().map(|(l, _)| l).collect();
        assert!(labels.contains(&"VOICE".into()) && labels.contains(&"CHAT".into()));
        let name = flow.name;

        let chat = flow.clone().on("CHAT");
        let message = |id: &str| chat.kind(id) == "MessageParticipant";
        for id in chat.reachable(&chat.start).iter().filter(|id| message(id)) {
            let text = chat.param(id, "Text");
            assert!(
                text.is_string(),
                "{name}: {id} is not Text, which chat needs"
            );
        }
        let most = messages_read(&chat, &chat.start, &mut HashMap::new());
        assert_eq!(most, 1, "{name}: a chat reads {most} messages");

        // A task, and any channel the flow does not know (an email), none.
        for channel in ["TASK", "EMAIL"] {
            let quiet = flow.clone().on(channel);
            let messages: Vec<String> = quiet
                .reachable(&quiet.start)
                .into_iter()
                .filter(|id| quiet.kind(id) == "MessageParticipant")
                .collect();
            assert!(
                messages.is_empty(),
                "{name}: {channel} is sent {messages:?}"
            );
        }
    }
}

/// The two asynchronous flows are one flow but for what they invoke and the
/// failure they record: a change to one is made to both.
#[test]
fn the_asynchronous_flows_differ_only_in_their_invocation_and_its_failure() {
    let [native, start] = asynchronous();
    let without = |flow: &Flow| {
        let mut doc = flow.doc.clone();
        for action in doc["Actions"].as_array_mut().unwrap() {
            let parameters = &mut action["Parameters"];
            if parameters["InvocationType"] == "ASYNCHRONOUS" {
                parameters["LambdaFunctionARN"] = "the invoked".into();
                let attributes = parameters.as_object_mut().unwrap();
                attributes.remove("LambdaInvocationAttributes");
            }
            if !parameters["LambdaInvocationAttributes"]["FlowFailure"].is_null() {
                parameters["LambdaInvocationAttributes"]["FlowFailure"] = "the failure".into();
            }
        }
        doc["Actions"].clone()
    };
    assert_eq!(without(&native), without(&start));
}

#[test]
fn nothing_is_read_from_external_after_an_asynchronous_invoke_but_the_loaded_result() {
    for flow in asynchronous() {
        let invoke = opening(&flow);
        // Every block reached before the result is loaded (or a failure is
        // recorded): another Lambda block ends the walk.
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = flow.targets(&invoke).into_iter().collect();
        while let Some(id) = todo.pop() {
            if flow.kind(&id) == "InvokeLambdaFunction" || !seen.insert(id.clone()) {
                continue;
            }
            let params = flow.actions[&id]["Parameters"].to_string();
            assert!(
                !params.contains("$.External"),
                "{}: {id} reads {params}",
                flow.name
            );
            todo.extend(flow.targets(&id));
        }
    }
}

/// The rule's message as the Rules Engine's flow plays it, on the voice
/// path: `text` and `ssml` as SSML, `prompt` as the stored prompt, `none`
/// nothing, anything else the flow's default text. The polling flow reads the
/// rule's keys from start's answer; the asynchronous ones from the contact
/// attributes they copied the keys into before the invoke.
#[test]
fn the_rules_message_plays_as_the_rules_engine_plays_it() {
    for flow in Flow::all() {
        let flow = flow.on("VOICE");
        let (source, message, prompt) = if flow.name == "integration.json" {
            (
                "$.External.CurrentRule_functionMessageType",
                "$.External.CurrentRule_functionMessage",
                "$.External.CurrentRule_functionMessagePromptArn",
            )
        } else {
            // The previous rule's message forgotten first, then this rule's copied.
            let forgotten = flow.param(&flow.start, "Attributes");
            assert_eq!(
                forgotten["IntegrationMessageType"], "default",
                "{}",
                flow.name
            );
            assert_eq!(forgotten["IntegrationMessage"], "", "{}", flow.name);
            let keep = &flow.target(&flow.start, "next");
            assert_eq!(flow.target(&flow.start, "NoMatchingError"), *keep);
            assert_eq!(
                flow.param(keep, "ComparisonValue"),
                "$.External.CurrentRule_functionMessageType",
                "{}: the rule's message is copied first",
                flow.name
            );
            for (kind, key) in [
                ("text", Some("$.External.CurrentRule_functionMessage")),
                ("ssml", Some("$.External.CurrentRule_functionMessage")),
                (
                    "prompt",
                    Some("$.External.CurrentRule_functionMessagePromptArn"),
                ),
                ("none", None),
                ("NoMatchingCondition", None),
            ] {
                let kept = flow.target(keep, kind);
                let set = flow.param(&kept, "Attributes");
                let literal = if kind == "NoMatchingCondition" {
                    "default"
                } else {
                    kind
                };
                assert_eq!(
                    set["IntegrationMessageType"], literal,
                    "{}: {kind}",
                    flow.name
                );
                assert_eq!(
                    set["IntegrationMessage"].as_str(),
                    key,
                    "{}: {kind}",
                    flow.name
                );
            }
            (
                "$.Attributes.IntegrationMessageType",
                "$.Attributes.IntegrationMessage",
                "$.Attributes.IntegrationMessage",
            )
        };
        let compare = flow
            .reachable(&flow.start)
            .into_iter()
            .find(|id| {
                flow.param(id, "ComparisonValue") == source
                    && flow.kind(id) == "Compare"
                    && !id.starts_with("keep")
            })
            .unwrap_or_else(|| panic!("{}: no compare of the rule's message type", flow.name));
        assert!(
            flow.reachable(&flow.target(&opening(&flow), "next"))
                .contains(&compare),
            "{}: the message is played after the call that opens the run",
            flow.name
        );
        let first = flow.target(&compare, "none");
        let plays = |label: &str, parameter: &str, value: Option<&str>| {
            let played_by = flow.target(&compare, label);
            assert_eq!(
                flow.kind(&played_by),
                "MessageParticipant",
                "{}: {label}",
                flow.name
            );
            let played = flow.param(&played_by, parameter).as_str();
            assert!(
                played.is_some() && value.is_none_or(|v| played == Some(v)),
                "{}: {label} plays {played:?}",
                flow.name
            );
            assert_eq!(
                flow.target(&played_by, "next"),
                first,
                "{}: after {label}",
                flow.name
            );
        };
        plays("text", "SSML", Some(message));
        plays("ssml", "SSML", Some(message));
        plays("prompt", "PromptId", Some(prompt));
        plays("NoMatchingCondition", "Text", None);
    }
}

#[test]
fn the_asynchronous_flows_wait_for_their_invocation_and_load_the_result_after_every_wait() {
    for (flow, function) in asynchronous()
        .into_iter()
        .zip(["$.External.CurrentRule_functionArn", "{{StartFunctionArn}}"])
    {
        let invoke = opening(&flow);
        assert_eq!(
            flow.param(&invoke, "LambdaFunctionARN"),
            function,
            "{}",
            flow.name
        );
        if function == "{{StartFunctionArn}}" {
            let wait = &flow.param(&invoke, "LambdaInvocationAttributes")["Wait"];
            assert_eq!(wait, UNTIL_END, "{}", flow.name);
        }
        let waits: Vec<&String> = flow
            .actions
            .keys()
            .filter(|id| flow.kind(id) == "Wait")
            .collect();
        assert!(!waits.is_empty());
        for wait in waits {
            assert_eq!(
                flow.param(wait, "LambdaInvocationId"),
                "$.LambdaInvocation.InvocationId"
            );
            let load = flow.target(wait, "LambdaReturned");
            assert_eq!(
                flow.param(&load, "LambdaInvocationId"),
                "$.LambdaInvocation.InvocationId",
                "{wait}"
            );
            // The last Wait too tries the result, which may be there: every
            // way on from its time running out reaches a load before any
            // other Lambda call or the end of the flow.
            let mut todo = vec![flow.target(wait, "WaitCompleted")];
            let mut seen = BTreeSet::new();
            while let Some(id) = todo.pop() {
                if !seen.insert(id.clone()) || !flow.param(&id, "LambdaInvocationId").is_null() {
                    continue;
                }
                let kind = flow.kind(&id);
                assert!(
                    kind != "InvokeLambdaFunction" && kind != "TransferToFlow",
                    "{}: after {wait}, {id} comes before the result is loaded",
                    flow.name
                );
                todo.extend(flow.targets(&id));
            }
        }
    }
}
