//! The names the Rules Engine's state goes by: the items a run writes, the keys
//! an integration rule leaves for its function, and how the rule's numbers read.
//! The table's own key and attribute names are in [`crate::table`].

// Items of a contact's state that a run writes.
pub const INTEGRATION_STATUS: &str = "IntegrationStatus";
pub const INTEGRATION_START: &str = "IntegrationStart";
pub const INTEGRATION_END: &str = "IntegrationEnd";
pub const INTEGRATION_ERROR_CAUSE: &str = "IntegrationErrorCause";
/// What a legacy integration function wrote after the caller had been told
/// the run's status (a late `DONE`'s output, a late `ERROR`'s cause), moved
/// here by the stream consumer so that nothing is lost; JSON text.
pub const INTEGRATION_LATE_FINISH: &str = "IntegrationLateFinish";
/// A run's identity kept aside by the stream consumer when a legacy writer's
/// put took it and the writer's finish landed before the consumer could put
/// it back: the finish's own record names the run with it. JSON text.
pub const INTEGRATION_STRIPPED_RUN: &str = "IntegrationStrippedRun";

/// The cause written by a timeout, as the Rules Engine writes it.
pub const TIMEOUT_CAUSE: &str = "The request timed out";

/// The value of [`crate::table::TIMED_OUT_BY`] written by the sweep.
pub const SWEEP: &str = "sweep";

/// Written by the Rules Engine's inference each time a rule fires (its
/// `RuleStart`, the activation's time to the millisecond, ISO-8601 text), as a
/// whole item: one rule activation. start marks the item with the run it
/// opened (the item's `RunId` attribute), so that Connect's retry of start
/// finds that run instead of opening another; the Rules Engine's next
/// activation puts the item anew and so clears the mark.
pub const RULE_START: &str = "RuleStart";

/// The state key naming where the output goes (set by the Rules Engine).
pub const OUTPUT_KEY: &str = "CurrentRule_functionOutputKey";
/// The state key holding the rule's payload.
pub const PAYLOAD: &str = "CurrentRule_functionPayload";
/// The state key holding the rule's function name.
pub const RULE_FUNCTION_NAME: &str = "CurrentRule_functionName";
/// The state key holding the rule's timeout, in seconds.
pub const TIMEOUT: &str = "CurrentRule_functionTimeout";

/// A number as rules and payloads give it: a JSON number or numeric text (with
/// spaces around it), fractions allowed; `None` for anything else. Infinities
/// and NaN read as numbers here: [`seconds`] refuses them.
pub fn number(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(number) => number.as_f64(),
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Seconds as rules and payloads give them: a finite [`number`].
pub fn seconds(value: &serde_json::Value) -> Option<f64> {
    number(value).filter(|seconds| seconds.is_finite())
}
