//! Contacts for tests, benchmarks and the simulator: fresh ids, the state an
//! integration rule leaves, Connect's event, the percentiles every report
//! quotes, and the errors panics report.

use std::{collections::BTreeMap, time::Duration};

use serde_json::{json, Value};
use shared::{ContactId, ContactState, ItemChange, Store, StoreError};

use crate::logs;

/// A fresh contact id, unique across tests.
pub fn new_contact() -> ContactId {
    logs::to_suite_log();
    ContactId::parse(uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid contact id")
}

/// An error with its whole chain of sources, for panic messages.
pub fn report(err: &dyn std::error::Error) -> String {
    shared::telemetry::error_chain(err)
}

/// The Connect event of the fixture shared with the tests, for `contact`.
pub fn connect_event(contact: &ContactId) -> Value {
    const EVENT: &str = include_str!("../../tests/fixtures/connect/contact-flow-event.json");
    let mut event: Value = serde_json::from_str(EVENT).expect("the fixture is JSON");
    let data = &mut event["Details"]["ContactData"];
    data["ContactId"] = json!(contact.as_str());
    data["InitialContactId"] = json!(contact.as_str());
    data["PreviousContactId"] = json!(contact.as_str());
    event
}

/// An integration rule as the Rules Engine leaves it in a contact's state
/// when the rule fires: the keys its integration flow and start read.
#[derive(Debug, Clone)]
pub struct Rule<'a> {
    /// The rule's name, as `CurrentRule` shows it.
    pub name: &'a str,
    /// The integration function, by name or ARN.
    pub function: &'a str,
    pub output_key: &'a str,
    pub timeout_s: u32,
    /// The payload, as the rule's text.
    pub payload: &'a str,
}

impl Rule<'_> {
    /// The keys the integration functions read: the rule's function, its
    /// output key, timeout and payload.
    pub fn function_keys(&self) -> Vec<(String, Value)> {
        [
            ("CurrentRule_functionArn", json!(self.function)),
            ("CurrentRule_functionOutputKey", json!(self.output_key)),
            (
                "CurrentRule_functionTimeout",
                json!(self.timeout_s.to_string()),
            ),
            ("CurrentRule_functionPayload", json!(self.payload)),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// Every key the Rules Engine writes when the rule fires: the rule set,
    /// the rule's name and type, the activation's `RuleStart` (its time, to the
    /// millisecond, as the inference writes it), its function's name, and
    /// [`Self::function_keys`].
    pub fn keys(&self) -> Vec<(String, Value)> {
        let named = [
            ("CurrentRuleSet", json!("Customer lookup")),
            ("CurrentRule", json!(self.name)),
            ("CurrentRuleType", json!("Integration")),
            (
                shared::keys::RULE_START,
                json!(shared::time::format_rules_engine(chrono::Utc::now())),
            ),
            ("CurrentRule_functionName", json!(self.function)),
        ];
        named
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .chain(self.function_keys())
            .collect()
    }

    /// Writes [`Self::keys`] and `more` into the contact's state, as the Rules
    /// Engine does when the rule fires.
    pub async fn seed(
        &self,
        store: &Store,
        contact: &ContactId,
        more: impl IntoIterator<Item = (String, Value)>,
    ) -> Result<(), StoreError> {
        write_state(store, contact, self.keys().into_iter().chain(more)).await
    }
}

/// Writes top-level `keys` into a contact's state, with the Rules Engine's
/// semantics, in one transaction.
pub async fn write_state(
    store: &Store,
    contact: &ContactId,
    keys: impl IntoIterator<Item = (String, Value)>,
) -> Result<(), StoreError> {
    let mut state = ContactState::default();
    let changes: Vec<ItemChange> = keys
        .into_iter()
        .map(|(key, value)| state.set(&key, value).expect("plain keys"))
        .collect();
    store.write(contact, &changes).await
}

/// Percentiles of durations, nearest rank: p50, p95, p99 and the largest;
/// `None` when there are none.
pub fn percentiles(mut values: Vec<Duration>) -> Option<BTreeMap<&'static str, Duration>> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    Some(BTreeMap::from([
        ("p50", percentile(&values, 0.5)),
        ("p95", percentile(&values, 0.95)),
        ("p99", percentile(&values, 0.99)),
        ("max", percentile(&values, 1.0)),
    ]))
}

/// `p` (0 to 1) of sorted, non-empty `values`, nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_event_names_the_contact_everywhere() {
        let contact = ContactId::parse("c-1").unwrap();
        let event = connect_event(&contact);
        assert_eq!(event["Details"]["ContactData"]["InitialContactId"], "c-1");
        assert_eq!(event["Details"]["ContactData"]["ContactId"], "c-1");
    }
}
