//! The subset of Lambda's event filtering the poller needs, applied to a record
//! as Lambda applies it: equality on strings and numbers, and `exists`, at the
//! leaves of a pattern whose objects follow the record's paths
//! (`dynamodb.NewImage.What.S`).

use serde_json::Value;

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Value);

/// A pattern this subset does not understand.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("the filter pattern is not JSON")]
    Json(#[source] serde_json::Error),
    #[error("the filter pattern uses {0}, which the local poller does not implement")]
    Unsupported(String),
}

impl Filter {
    pub fn parse(pattern: &str) -> Result<Self, FilterError> {
        let pattern: Value = serde_json::from_str(pattern).map_err(FilterError::Json)?;
        check(&pattern)?;
        Ok(Self(pattern))
    }

    /// Whether Lambda would pass `record` to the function.
    pub fn matches(&self, record: &Value) -> bool {
        matches_node(&self.0, Some(record))
    }
}

fn check(node: &Value) -> Result<(), FilterError> {
    match node {
        Value::Object(fields) => fields.values().try_for_each(check),
        Value::Array(rules) => rules.iter().try_for_each(|rule| match rule {
            Value::String(_) | Value::Number(_) => Ok(()),
            Value::Object(op)
                if op.len() == 1 && op.get("exists").is_some_and(Value::is_boolean) =>
            {
                Ok(())
            }
            other => Err(FilterError::Unsupported(other.to_string())),
        }),
        other => Err(FilterError::Unsupported(other.to_string())),
    }
}

/// Every field of an object pattern must match; a leaf's rules are alternatives.
fn matches_node(pattern: &Value, value: Option<&Value>) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(name, sub)| matches_node(sub, value.and_then(|v| v.get(name)))),
        Value::Array(rules) => rules.iter().any(|rule| matches_rule(rule, value)),
        _ => false,
    }
}

fn matches_rule(rule: &Value, value: Option<&Value>) -> bool {
    match rule {
        Value::Object(op) => match op.get("exists").and_then(Value::as_bool) {
            Some(true) => value.is_some_and(|v| !v.is_object() && !v.is_null()),
            Some(false) => value.is_none(),
            None => false,
        },
        Value::String(expected) => value.and_then(Value::as_str) == Some(expected.as_str()),
        Value::Number(expected) => value.and_then(Value::as_f64) == expected.as_f64(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stream_consumer::FILTER_PATTERN;

    fn record(what: &str, stamped: bool) -> Value {
        let mut image = json!({"What": {"S": what}, "Value": {"S": "DONE"}});
        if stamped {
            image["MeasuredAt"] = json!({"N": "1"});
        }
        json!({"eventName": "MODIFY", "dynamodb": {"NewImage": image}})
    }

    #[test]
    fn the_consumer_filter_passes_unstamped_status_items_only() {
        let filter = Filter::parse(FILTER_PATTERN).unwrap();
        assert!(filter.matches(&record("IntegrationStatus", false)));
        assert!(!filter.matches(&record("IntegrationStatus", true)));
        assert!(!filter.matches(&record("IntegrationStart", false)));
        // A removal has no new image at all.
        assert!(!filter.matches(&json!({"eventName": "REMOVE", "dynamodb": {"OldImage": {}}})));
    }

    #[test]
    fn patterns_beyond_the_subset_are_refused_rather_than_misread() {
        assert!(matches!(
            Filter::parse(r#"{"dynamodb": {"NewImage": {"N": [{"numeric": [">", 1]}]}}}"#),
            Err(FilterError::Unsupported(_))
        ));
    }
}
