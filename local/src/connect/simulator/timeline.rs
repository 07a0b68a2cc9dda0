//! A contact's timeline, as the demo prints it.

use serde_json::Value;
use shared::{ContactState, IntegrationStatus};

use super::{Played, StepKind, OUTPUT_KEY};

/// A timeline, as the demo prints it.
pub fn timeline(played: &Played, state: Option<&ContactState>, metrics: &[Value]) -> String {
    let mut out = format!(
        "contact {} — {}\n",
        short(played.contact.as_str()),
        played.scenario.summary
    );
    for step in &played.steps {
        let at = format!("{:>6.2} s", step.at.as_secs_f64());
        let line = match &step.what {
            StepKind::Call {
                function,
                took,
                status: Some(status),
                ..
            } => {
                format!("{function:<18} {status:<8} ({} ms)", took.as_millis())
            }
            StepKind::Call {
                function,
                took,
                error: Some(error),
                ..
            } => {
                format!(
                    "{function:<18} Lambda error after {} ms: {error}",
                    took.as_millis()
                )
            }
            StepKind::Call { function, .. } => function.clone(),
            StepKind::Message(text) => format!("♪ \"{text}\""),
            StepKind::HungUp => "caller hung up".into(),
            StepKind::Ended(how) => format!("flow ended: {how}"),
        };
        out.push_str(&format!("  {at}  {line}\n"));
    }
    if let Some(state) = state {
        let status = state
            .integration_status()
            .map_or("none", IntegrationStatus::as_str);
        let output = state
            .get(OUTPUT_KEY)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "absent".into());
        let cause = state.get_str("IntegrationErrorCause").unwrap_or("none");
        out.push_str(&format!("  final state: IntegrationStatus={status}, {OUTPUT_KEY}={output}, IntegrationErrorCause={cause}\n"));
    }
    if metrics.is_empty() {
        out.push_str("  metrics: none yet\n");
    }
    for doc in metrics {
        let names: Vec<String> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .map(|name| format!("{name}={}", doc[name]))
            .collect();
        let dims: Vec<String> = ["FunctionName", "Status", "Reason", "LateStatus"]
            .iter()
            .filter_map(|d| doc[*d].as_str().map(|v| format!("{d}={v}")))
            .collect();
        out.push_str(&format!(
            "  metrics: {} [{}]\n",
            names.join(" "),
            dims.join(", ")
        ));
    }
    out
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
