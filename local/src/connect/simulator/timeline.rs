//! A contact's timeline, as the demo prints it: what the caller hears and
//! when, every Lambda call with its duration and answer, the final state and
//! the metrics the consumer emitted for the run.

use serde_json::Value;
use shared::{ContactState, IntegrationStatus};

use super::{CallStep, Played, StepKind, OUTPUT_KEY};

/// A timeline, as the demo prints it.
pub fn timeline(played: &Played, state: Option<&ContactState>, metrics: &[Value]) -> String {
    let (pass, passes) = played.pass;
    let of = if passes > 1 {
        format!(", integration {} of {passes}", pass + 1)
    } else {
        String::new()
    };
    let mut out = format!(
        "contact {} [{} flow{of}] — {}\n",
        short(played.contact.as_str()),
        played.flow.as_str(),
        played.scenario.summary
    );
    for step in &played.steps {
        let at = format!("{:>6.2} s", step.at.as_secs_f64());
        out.push_str(&format!("  {at}  {}\n", line(&step.what)));
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
    out.push_str(&metrics_lines(metrics));
    out
}

fn line(what: &StepKind) -> String {
    match what {
        StepKind::Call(call) => call_line(call),
        StepKind::Invoked { function, .. } => {
            format!("{function:<18} invoked asynchronously; the flow goes on")
        }
        StepKind::Waited {
            took,
            limit,
            returned,
        } => {
            let outcome = if *returned {
                "returned"
            } else {
                "still running"
            };
            // To the tenth: a keep-running Wait's is what is left of its time.
            let wait = format!("wait ≤ {} s", (limit.as_secs_f64() * 10.0).round() / 10.0);
            format!("{wait:<18} {outcome} after {} ms", took.as_millis())
        }
        StepKind::Message { text, kind, length } => {
            let kind = if *kind == "text" {
                String::new()
            } else {
                format!("[{kind}] ")
            };
            format!("♪ {kind}\"{text}\" ({:.1} s)", length.as_secs_f64())
        }
        StepKind::Retried {
            function,
            attempt,
            failure,
        } => format!("{function:<18} attempt {attempt} failed ({failure}); Connect retries"),
        StepKind::HungUp => "caller hung up".into(),
        StepKind::Ended(how) => format!("flow ended: {how}"),
    }
}

fn call_line(call: &CallStep) -> String {
    let function = match (&call.failure, call.asynchronous) {
        (Some(failure), _) => format!("{} ({failure} failed)", call.function),
        (None, true) => format!("{} result", call.function),
        (None, false) => call.function.clone(),
    };
    let took = format!("{} ms", call.took.as_millis());
    match (&call.status, &call.error) {
        (Some(status), _) if call.asynchronous => {
            format!("{function:<18} {status:<8} (it ran {took})")
        }
        (Some(status), _) => format!("{function:<18} {status:<8} ({took})"),
        (None, Some(error)) => format!("{function:<18} Lambda error after {took}: {error}"),
        (None, None) => function,
    }
}

fn metrics_lines(metrics: &[Value]) -> String {
    if metrics.is_empty() {
        return "  metrics: none yet\n".into();
    }
    let mut out = String::new();
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

/// A contact id as timelines name it: its first 8 characters.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
