//! Checks `infra/contact-flows/integration.json`, the flow to import into Connect:
//! well-formed flow language, every transition to an existing action, loops that
//! end, a message between every few polls, and only the placeholders the README
//! tells how to replace.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::root;

/// Placeholders and the stack output (or flow) that replaces each.
const PLACEHOLDERS: &[&str] = &["StartFunctionArn", "CheckTimeoutFunctionArn", "NextFlowArn"];

/// Identifier characters Connect refuses.
const FORBIDDEN: &[char] = &[
    '%', ':', '(', '\\', '/', ')', '=', '$', ',', ';', '[', ']', '{', '}',
];

/// The most check-timeout calls in a row without a message to the caller: each
/// waits up to 2 s, so the caller hears something at least every few seconds.
const MOST_SILENT_POLLS: u64 = 2;

fn flow_text() -> String {
    std::fs::read_to_string(root().join("infra/contact-flows/integration.json"))
        .expect("the flow is readable")
}

struct Flow {
    start: String,
    actions: BTreeMap<String, Value>,
}

impl Flow {
    fn load() -> Self {
        let flow: Value = serde_json::from_str(&flow_text()).expect("the flow is JSON");
        assert_eq!(flow["Version"], "2019-10-30");
        let mut actions = BTreeMap::new();
        for action in flow["Actions"].as_array().expect("Actions") {
            let id = action["Identifier"]
                .as_str()
                .expect("an Identifier")
                .to_owned();
            assert!(
                actions.insert(id.clone(), action.clone()).is_none(),
                "{id} is defined twice"
            );
        }
        Self {
            start: flow["StartAction"]
                .as_str()
                .expect("StartAction")
                .to_owned(),
            actions,
        }
    }

    fn kind(&self, id: &str) -> &str {
        self.actions
            .get(id)
            .and_then(|a| a["Type"].as_str())
            .unwrap_or("")
    }

    /// `(label, target)` of every transition of an action; a label is the condition's
    /// first operand, the error type, or `next`.
    fn edges(&self, id: &str) -> Vec<(String, String)> {
        let transitions = &self.actions[id]["Transitions"];
        let mut edges = Vec::new();
        if let Some(next) = transitions["NextAction"].as_str() {
            edges.push(("next".to_owned(), next.to_owned()));
        }
        for error in transitions["Errors"].as_array().into_iter().flatten() {
            let label = error["ErrorType"].as_str().unwrap_or("error");
            edges.push((
                label.to_owned(),
                error["NextAction"]
                    .as_str()
                    .expect("an error target")
                    .to_owned(),
            ));
        }
        for condition in transitions["Conditions"].as_array().into_iter().flatten() {
            let label = condition["Condition"]["Operands"][0]
                .as_str()
                .unwrap_or("condition");
            edges.push((
                label.to_owned(),
                condition["NextAction"]
                    .as_str()
                    .expect("a condition target")
                    .to_owned(),
            ));
        }
        edges
    }

    fn loop_count(&self, id: &str) -> u64 {
        let count = &self.actions[id]["Parameters"]["LoopCount"];
        count
            .as_str()
            .and_then(|c| c.parse().ok())
            .or(count.as_u64())
            .expect("a LoopCount")
    }

    /// Actions reachable from `from` through edges `keep` accepts.
    fn reachable(&self, from: &str, keep: &dyn Fn(&str, &str, &str) -> bool) -> BTreeSet<String> {
        let mut seen = BTreeSet::from([from.to_owned()]);
        let mut todo = vec![from.to_owned()];
        while let Some(id) = todo.pop() {
            for (label, to) in self.edges(&id) {
                if keep(&id, &label, &to) && seen.insert(to.clone()) {
                    todo.push(to);
                }
            }
        }
        seen
    }

    /// Whether the graph of the edges `keep` accepts has a cycle.
    fn has_cycle(&self, keep: &dyn Fn(&str, &str, &str) -> bool) -> bool {
        self.actions.keys().any(|id| {
            self.edges(id).iter().any(|(label, to)| {
                keep(id, label, to) && self.reachable(to, keep).contains(id.as_str())
            })
        })
    }

    fn invoking(&self, placeholder: &str) -> String {
        let wanted = format!("{{{{{placeholder}}}}}");
        self.actions
            .iter()
            .find(|(_, a)| a["Parameters"]["LambdaFunctionARN"] == wanted.as_str())
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("no action invokes {wanted}"))
    }
}

#[test]
fn every_transition_leads_to_an_existing_action_and_every_action_is_reachable() {
    let flow = Flow::load();
    assert!(
        flow.actions.contains_key(&flow.start),
        "StartAction {} does not exist",
        flow.start
    );
    for id in flow.actions.keys() {
        assert!(
            id.len() <= 50 && !id.contains(FORBIDDEN),
            "{id:?} is not a valid Identifier"
        );
        for (label, to) in flow.edges(id) {
            assert!(
                flow.actions.contains_key(&to),
                "{id} --{label}--> {to}, which does not exist"
            );
        }
    }
    let reachable = flow.reachable(&flow.start, &|_, _, _| true);
    let unreachable: Vec<_> = flow
        .actions
        .keys()
        .filter(|id| !reachable.contains(*id))
        .collect();
    assert!(unreachable.is_empty(), "unreachable: {unreachable:?}");
}

#[test]
fn the_flow_names_functions_only_by_the_documented_placeholders() {
    let text = flow_text();
    let mut found = BTreeSet::new();
    for piece in text.split("{{").skip(1) {
        found.insert(piece.split("}}").next().unwrap_or("").to_owned());
    }
    let documented: BTreeSet<String> = PLACEHOLDERS.iter().map(|p| p.to_string()).collect();
    assert_eq!(found, documented);
    assert!(
        !text.contains("arn:aws"),
        "a real ARN is written into the flow"
    );

    // The function placeholders are named after the stack's outputs.
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    for output in ["StartFunctionArn", "CheckTimeoutFunctionArn"] {
        assert!(
            template.contains(&format!("\n  {output}:\n")),
            "the template has no output {output}"
        );
    }
}

#[test]
fn every_lambda_call_fits_connects_limit_and_has_an_error_branch() {
    let flow = Flow::load();
    let calls: Vec<_> = flow
        .actions
        .keys()
        .filter(|id| flow.kind(id) == "InvokeLambdaFunction")
        .collect();
    assert_eq!(calls.len(), 2, "start and check-timeout");
    for id in calls {
        let limit = &flow.actions[id]["Parameters"]["InvocationTimeLimitSeconds"];
        let limit: u64 = limit
            .as_str()
            .and_then(|l| l.parse().ok())
            .expect("a time limit");
        assert!((1..=8).contains(&limit), "{id}: {limit} s");
        assert!(
            flow.edges(id)
                .iter()
                .any(|(label, _)| label == "NoMatchingError"),
            "{id} has no error branch"
        );
    }
}

#[test]
fn done_goes_on_and_only_an_open_run_is_polled_again() {
    let flow = Flow::load();
    let start = flow.invoking("StartFunctionArn");
    let check = flow.invoking("CheckTimeoutFunctionArn");
    let everything = |_: &str, _: &str, _: &str| true;
    for call in [&start, &check] {
        let compares: Vec<_> = flow
            .edges(call)
            .into_iter()
            .filter(|(_, to)| {
                flow.actions[to]["Parameters"]["ComparisonValue"] == "$.External.IntegrationStatus"
            })
            .collect();
        let (_, compare) = compares
            .first()
            .unwrap_or_else(|| panic!("{call} is not followed by a status compare"));
        for (status, to) in flow.edges(compare) {
            let polls_again = flow.reachable(&to, &everything).contains(&check);
            match status.as_str() {
                "DONE" | "ERROR" | "TIMEOUT" => {
                    assert!(!polls_again, "{compare}: {status} polls again")
                }
                "START" | "RUN" => assert!(polls_again, "{compare}: {status} is not polled again"),
                _ => {}
            }
        }
    }
}

#[test]
fn every_loop_ends_and_the_caller_hears_a_message_every_few_polls() {
    let flow = Flow::load();
    // Without the loops' way back, nothing may go round: every cycle is counted.
    let no_loop_back = |from: &str, label: &str, _: &str| {
        !(flow.kind(from) == "Loop" && label == "ContinueLooping")
    };
    assert!(
        !flow.has_cycle(&no_loop_back),
        "a cycle does not pass a Loop"
    );

    // Without messages, only a loop of at most MOST_SILENT_POLLS turns may go round.
    let silent = |from: &str, label: &str, to: &str| {
        flow.kind(from) != "MessageParticipant"
            && flow.kind(to) != "MessageParticipant"
            && !(flow.kind(from) == "Loop"
                && label == "ContinueLooping"
                && flow.loop_count(from) <= MOST_SILENT_POLLS)
    };
    assert!(
        !flow.has_cycle(&silent),
        "check-timeout can be polled more than {MOST_SILENT_POLLS} times in silence"
    );
}
