//! Checks the flows to import into Connect, `infra/contact-flows/integration.json`
//! (start, then check-timeout between messages) and `integration-native.json`
//! (Connect's asynchronous invocation, a Wait for it, its result loaded):
//! well-formed flow language, every transition to an existing action, only the
//! placeholders the README tells how to replace, the rule's message played as
//! the Rules Engine's flow plays it, every failed call recorded in the state
//! before the flow hands back, a backstop that rests on no Loop count (none
//! survives re-entry intact), a message between every few polls, and the
//! metadata the console's flow editor keeps beside each block.

use std::collections::BTreeSet;

use check_timeout::failure::FlowFailure;
use shared::waiting::{WaitConfig, RULE_TIMEOUTS};

use crate::root;

mod metadata;
mod model;

use model::Flow;

/// Identifier characters Connect refuses.
const FORBIDDEN: &[char] = &[
    '%', ':', '(', '\\', '/', ')', '=', '$', ',', ';', '[', ']', '{', '}',
];

/// The most check-timeout calls, or Waits, in a row without a message to the
/// caller: each lasts up to a few seconds, so the caller hears something at
/// least every few seconds.
const MOST_SILENT_POLLS: usize = 2;
const MOST_SILENT_WAITS: usize = 1;

#[test]
fn every_transition_leads_to_an_existing_action_and_every_action_is_reachable() {
    for flow in Flow::both() {
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
    for (flow, expected) in Flow::both().iter().zip([
        [
            "StartFunctionArn",
            "CheckTimeoutFunctionArn",
            "NextFlowArn",
            "ErrorFlowArn",
        ],
        [
            "IntegrationFunctionArn",
            "CheckTimeoutFunctionArn",
            "NextFlowArn",
            "ErrorFlowArn",
        ],
    ]) {
        let text = flow.doc.to_string();
        let found: BTreeSet<&str> = text
            .split("{{")
            .skip(1)
            .map(|p| p.split("}}").next().unwrap_or(""))
            .collect();
        assert_eq!(found, BTreeSet::from(expected), "{}", flow.name);
        assert!(
            !text.contains("arn:aws"),
            "{}: a real ARN is written into the flow",
            flow.name
        );
    }
    // The function placeholders are named after the stack's outputs; the
    // native flow's is the sample's (EchoFunctionArn) or your own function.
    for output in [
        "StartFunctionArn",
        "CheckTimeoutFunctionArn",
        "EchoFunctionArn",
    ] {
        assert!(
            template.contains(&format!("\n  {output}:\n")),
            "the template has no output {output}"
        );
    }
}

#[test]
fn every_lambda_call_fits_its_limit_and_every_failure_is_recorded_before_the_flow_hands_back() {
    for flow in Flow::both() {
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
    for flow in Flow::both() {
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
        // Waits cover the native invocation's time limit.
        let is_poll = |id: &str| flow.is_poll(id);
        let is_wait = |id: &str| flow.kind(id) == "Wait";
        let never = |_: &str| false;
        let polls = flow.longest_run(&flow.start, &is_poll, &never);
        let waited: f64 = flow
            .actions
            .keys()
            .filter(|id| is_wait(id))
            .map(|id| {
                flow.param(id, "TimeoutSeconds")
                    .as_str()
                    .unwrap()
                    .parse::<f64>()
                    .unwrap()
            })
            .sum();
        let covered = polls as f64 * budget + waited;
        let needed = match flow.doc["StartAction"].as_str() {
            Some(start) if flow.param(start, "InvocationType") == "ASYNCHRONOUS" => flow
                .param(start, "InvocationTimeLimitSeconds")
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
            _ => *RULE_TIMEOUTS.end(),
        };
        assert!(
            covered >= needed,
            "{}: gives up after {covered} s, a run may take {needed} s",
            flow.name
        );
    }
}

#[test]
fn the_caller_hears_a_message_between_every_few_polls_or_waits() {
    for flow in Flow::both() {
        let message = |id: &str| flow.kind(id) == "MessageParticipant";
        let polls = flow.longest_run(&flow.start, &|id| flow.is_poll(id), &message);
        let waits = flow.longest_run(&flow.start, &|id| flow.kind(id) == "Wait", &message);
        assert!(
            polls <= MOST_SILENT_POLLS,
            "{}: {polls} polls in silence",
            flow.name
        );
        assert!(
            waits <= MOST_SILENT_WAITS,
            "{}: {waits} waits in silence",
            flow.name
        );
    }
}

#[test]
fn the_rules_message_plays_as_the_rules_engine_plays_it() {
    for flow in Flow::both() {
        let compare = flow
            .actions
            .keys()
            .find(|id| {
                flow.param(id, "ComparisonValue") == "$.External.CurrentRule_functionMessageType"
            })
            .unwrap_or_else(|| panic!("{}: no compare of the rule's message type", flow.name))
            .clone();
        // Played once, after the call that opens the run.
        assert!(
            flow.reachable(&flow.target(&flow.start, "next"))
                .contains(&compare),
            "{}",
            flow.name
        );
        let first = flow.target(&compare, "none");
        assert!(
            flow.is_poll(&first) || flow.kind(&first) == "Wait",
            "{}: none → {first}",
            flow.name
        );
        let plays = |label: &str, parameter: &str, value: Option<&str>| {
            let message = flow.target(&compare, label);
            assert_eq!(
                flow.kind(&message),
                "MessageParticipant",
                "{}: {label}",
                flow.name
            );
            let played = flow.param(&message, parameter).as_str();
            assert!(
                played.is_some() && value.is_none_or(|v| played == Some(v)),
                "{}: {label} plays {played:?}",
                flow.name
            );
            assert_eq!(
                flow.target(&message, "next"),
                first,
                "{}: after {label}",
                flow.name
            );
        };
        plays(
            "text",
            "SSML",
            Some("$.External.CurrentRule_functionMessage"),
        );
        plays(
            "ssml",
            "SSML",
            Some("$.External.CurrentRule_functionMessage"),
        );
        plays(
            "prompt",
            "PromptId",
            Some("$.External.CurrentRule_functionMessagePromptArn"),
        );
        plays("NoMatchingCondition", "Text", None);
    }
}

#[test]
fn the_native_flow_waits_for_its_invocation_and_loads_the_result_by_its_id() {
    let flow = Flow::load("integration-native.json");
    assert_eq!(flow.param(&flow.start, "InvocationType"), "ASYNCHRONOUS");
    assert_eq!(
        flow.param(&flow.start, "LambdaFunctionARN"),
        "{{IntegrationFunctionArn}}"
    );
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
        flow.target(wait, "WaitCompleted");
    }
}
