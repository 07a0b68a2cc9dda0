//! The Rules Engine's analytics records, `INTEGRATION_RUN` and `INTEGRATION_END`,
//! as structured log lines: the same field names, so existing CloudWatch Logs
//! Insights queries (`filter EventCode = "INTEGRATION_END" | stats avg(Cost) by
//! FunctionName`) keep working.
//!
//! Only the rule's names, the status, the cause (written by the function's author)
//! and times are logged; never the payload, the output or anything of the caller.

use chrono::{DateTime, Utc};

use crate::{time::format_rules_engine, ContactState, IntegrationStatus};

/// The rule that asked for the run, read from the contact's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInfo {
    /// `CurrentRuleSet`.
    pub rule_set: Option<String>,
    /// `CurrentRule`.
    pub rule: Option<String>,
    /// `CurrentRuleType`.
    pub rule_type: Option<String>,
}

impl RuleInfo {
    pub fn from_state(state: &ContactState) -> Self {
        let text = |key: &str| state.get_str(key).map(str::to_owned);
        Self {
            rule_set: text("CurrentRuleSet"),
            rule: text("CurrentRule"),
            rule_type: text("CurrentRuleType"),
        }
    }
}

/// What both records say about a run.
pub(crate) struct Record<'a> {
    pub contact_id: &'a str,
    pub rule: &'a RuleInfo,
    pub function_name: &'a str,
    /// `IntegrationStart`, from which `Cost` is measured.
    pub started_at: Option<DateTime<Utc>>,
}

impl Record<'_> {
    /// `INTEGRATION_RUN`: the function has picked the run up; `Cost` is how long
    /// the run waited for it.
    pub fn run(&self, now: DateTime<Utc>) {
        self.log("INTEGRATION_RUN", IntegrationStatus::Run, None, now);
    }

    /// `INTEGRATION_END`: the run finished as `status`; `Cost` is the whole run.
    pub fn end(&self, status: IntegrationStatus, cause: Option<&str>, now: DateTime<Utc>) {
        self.log("INTEGRATION_END", status, cause, now);
    }

    fn log(
        &self,
        code: &'static str,
        status: IntegrationStatus,
        cause: Option<&str>,
        now: DateTime<Utc>,
    ) {
        // An absent (`None`) field is left out of the line, as the Rules Engine's
        // JSON left out undefined values.
        tracing::info!(
            EventType = "ANALYTICS",
            EventCode = code,
            ContactId = self.contact_id,
            RuleSet = self.rule.rule_set.as_deref(),
            Rule = self.rule.rule.as_deref(),
            RuleType = self.rule.rule_type.as_deref(),
            FunctionName = self.function_name,
            Status = status.as_str(),
            ErrorCause = cause,
            When = format_rules_engine(now),
            Cost = self.cost(now),
            "{code}"
        );
    }

    /// Milliseconds since `IntegrationStart`; absent (not logged) when the run has
    /// no start time.
    fn cost(&self, now: DateTime<Utc>) -> Option<i64> {
        self.started_at
            .map(|start| (now - start).num_milliseconds().max(0))
    }
}
