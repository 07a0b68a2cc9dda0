//! Logging set-up, once per function: JSON lines on Lambda, so CloudWatch Logs
//! Insights can query `contact_id`, `run_id` and `status` as fields; compact text
//! elsewhere. `RUST_LOG` filters as usual (default `info`).
//!
//! Logs name contacts and runs by id only: a caller's phone number and contact
//! attribute values never reach a log line.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        // Lambda stamps every line with its own time; ANSI codes would garble the JSON.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .without_time()
            .init();
    } else {
        builder.compact().init();
    }
}

/// An error with its whole chain of sources, `: `-separated, for one log field
/// or message. Errors of this workspace name ids and statuses, never state values.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The shortest value [`without_values`] cuts out: shorter ones (`S`, `1`) would
/// cut words of the message itself, and carry no personal data worth the name.
const SHORTEST_CUT: usize = 4;

/// `message`, a parser's error, with every one of `values` cut out, as written
/// and as Rust's `{:?}` escapes it. serde's messages quote the value they could
/// not read (`invalid type: string "+15555550123", expected i64`), and the value
/// may be personal data; the rest of the message says what was wrong.
pub fn without_values<'a>(message: &str, values: impl IntoIterator<Item = &'a str>) -> String {
    let mut cuts: Vec<String> = values
        .into_iter()
        .filter(|value| value.len() >= SHORTEST_CUT)
        .flat_map(|value| {
            let escaped = format!("{value:?}");
            let escaped = escaped[1..escaped.len() - 1].to_owned();
            [value.to_owned(), escaped]
        })
        .collect();
    // Longest first, so a value goes whole before a shorter one inside it.
    cuts.sort_by_key(|cut| std::cmp::Reverse(cut.len()));
    cuts.dedup();
    cuts.into_iter().fold(message.to_owned(), |text, cut| {
        if text.contains(&cut) {
            text.replace(&cut, "…")
        } else {
            text
        }
    })
}

/// Every value of a JSON document as text, keys included, for [`without_values`]:
/// strings, and numbers as serde writes them in its messages.
pub fn json_values(value: &serde_json::Value) -> Vec<String> {
    let mut values = Vec::new();
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            serde_json::Value::String(text) => values.push(text.clone()),
            serde_json::Value::Number(number) => {
                values.push(number.to_string());
                if let Some(float) = number.as_f64() {
                    values.push(float.to_string());
                }
            }
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(fields) => {
                values.extend(fields.keys().cloned());
                stack.extend(fields.values());
            }
            serde_json::Value::Null | serde_json::Value::Bool(_) => {}
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_out_of_messages_as_written_and_as_escaped() {
        let value = r#"+15555550123 "Ada""#;
        let message = format!("invalid type: string {value:?}, expected i64");
        assert_eq!(
            without_values(&message, [value, "S", "i64"]),
            r#"invalid type: string "…", expected i64"#
        );
        assert_eq!(
            without_values("unknown variant `+15555550123`", ["+15555550123"]),
            "unknown variant `…`"
        );
        // Too short to cut: the message stays readable.
        assert_eq!(without_values("invalid type", ["in", "S"]), "invalid type");
        let document = serde_json::json!({"Keys": {"N": 15555550123_u64}, "+15555550123": 1.5});
        let values = json_values(&document);
        for expected in ["Keys", "N", "15555550123", "+15555550123", "1.5"] {
            assert!(values.iter().any(|v| v == expected), "{expected}");
        }
    }
}
