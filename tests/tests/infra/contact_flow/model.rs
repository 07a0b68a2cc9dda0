//! The flows as the tests read them: their actions by identifier, their
//! transitions, and walks over them (the flows have no cycle, so every walk ends).

use std::collections::{BTreeMap, BTreeSet};

use check_timeout::failure::FLOW_FAILURE;
use serde_json::Value;

use crate::root;

#[derive(Clone)]
pub struct Flow {
    pub name: &'static str,
    pub doc: Value,
    pub start: String,
    pub actions: BTreeMap<String, Value>,
    /// The channel the walks follow at a Compare of `$.Channel` (`VOICE`,
    /// `CHAT`, `TASK`); `None`: every branch.
    channel: Option<&'static str>,
}

impl Flow {
    pub fn load(name: &'static str) -> Self {
        let path = root().join("infra/contact-flows").join(name);
        let text = std::fs::read_to_string(&path).expect("the flow is readable");
        let doc: Value = serde_json::from_str(&text).expect("the flow is JSON");
        assert_eq!(doc["Version"], "2019-10-30", "{name}");
        let mut actions = BTreeMap::new();
        for action in doc["Actions"].as_array().expect("Actions") {
            let id = action["Identifier"].as_str().expect("an Identifier");
            let twice = actions.insert(id.to_owned(), action.clone()).is_some();
            assert!(!twice, "{name}: {id} is defined twice");
        }
        let start = doc["StartAction"].as_str().expect("StartAction").to_owned();
        Self {
            name,
            doc,
            start,
            actions,
            channel: None,
        }
    }

    /// The polling, the native and the asynchronous-start flow.
    pub fn all() -> [Self; 3] {
        [
            Self::load("integration.json"),
            Self::load("integration-native.json"),
            Self::load("integration-async.json"),
        ]
    }

    /// The flow as a contact of `channel` walks it.
    pub fn on(mut self, channel: &'static str) -> Self {
        self.channel = Some(channel);
        self
    }

    pub fn param(&self, id: &str, name: &str) -> &Value {
        &self.actions[id]["Parameters"][name]
    }

    pub fn kind(&self, id: &str) -> &str {
        self.actions
            .get(id)
            .and_then(|a| a["Type"].as_str())
            .unwrap_or("")
    }

    /// A call of check-timeout that records a failure (`FlowFailure`), and which one.
    pub fn recorder(&self, id: &str) -> Option<&str> {
        self.param(id, "LambdaInvocationAttributes")[FLOW_FAILURE].as_str()
    }

    /// A check-timeout poll: an invocation of it that records nothing.
    pub fn is_poll(&self, id: &str) -> bool {
        self.param(id, "LambdaFunctionARN") == "{{CheckTimeoutFunctionArn}}"
            && self.recorder(id).is_none()
    }

    /// `(label, target)` of every transition; a label is the condition's first
    /// operand, the error type, or `next`.
    pub fn edges(&self, id: &str) -> Vec<(String, String)> {
        let t = &self.actions[id]["Transitions"];
        let text = |v: &Value| v.as_str().expect("a transition's text").to_owned();
        let mut edges: Vec<(String, String)> = t["NextAction"]
            .as_str()
            .map(|next| ("next".to_owned(), next.to_owned()))
            .into_iter()
            .collect();
        for e in t["Errors"].as_array().into_iter().flatten() {
            edges.push((text(&e["ErrorType"]), text(&e["NextAction"])));
        }
        for c in t["Conditions"].as_array().into_iter().flatten() {
            edges.push((text(&c["Condition"]["Operands"][0]), text(&c["NextAction"])));
        }
        edges
    }

    /// Where `id` may lead; at a Compare of `$.Channel`, only the branch of
    /// the channel walked, if one is.
    pub fn targets(&self, id: &str) -> BTreeSet<String> {
        let edges = self.edges(id);
        let taken = match self.channel {
            Some(channel) if self.param(id, "ComparisonValue") == "$.Channel" => {
                if edges.iter().any(|(label, _)| label == channel) {
                    channel
                } else {
                    "NoMatchingCondition"
                }
            }
            _ => return edges.into_iter().map(|(_, to)| to).collect(),
        };
        edges
            .into_iter()
            .filter(|(label, _)| label == taken)
            .map(|(_, to)| to)
            .collect()
    }

    pub fn target(&self, id: &str, label: &str) -> String {
        let found = self.edges(id).into_iter().find(|(l, _)| l == label);
        found
            .unwrap_or_else(|| panic!("{}: {id} has no {label} branch", self.name))
            .1
    }

    pub fn reachable(&self, from: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::from([from.to_owned()]);
        let mut todo = vec![from.to_owned()];
        while let Some(id) = todo.pop() {
            for to in self.targets(&id) {
                if seen.insert(to.clone()) {
                    todo.push(to);
                }
            }
        }
        seen
    }

    /// Over every path from `from`, the most actions `counts` picks in a row
    /// without one `resets` picks (the flow has no cycle, so paths end).
    pub fn longest_run(
        &self,
        from: &str,
        counts: &dyn Fn(&str) -> bool,
        resets: &dyn Fn(&str) -> bool,
    ) -> usize {
        pub fn walk(
            flow: &Flow,
            id: &str,
            run: usize,
            c: &dyn Fn(&str) -> bool,
            r: &dyn Fn(&str) -> bool,
        ) -> usize {
            let run = if r(id) { 0 } else { run + usize::from(c(id)) };
            flow.targets(id)
                .iter()
                .map(|to| walk(flow, to, run, c, r))
                .max()
                .unwrap_or(0)
                .max(run)
        }
        walk(self, from, 0, counts, resets)
    }
}
