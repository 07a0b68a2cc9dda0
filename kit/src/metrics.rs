//! The consumer's metrics captured in a test or a benchmark: every line kept,
//! or only counted; and each document checked as CloudWatch reads Embedded
//! Metric Format.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex,
};

use serde_json::Value;
use stream_consumer::metrics::{MetricsSink, MAX_DIMENSIONS, MAX_METRICS};

/// Keeps every line, for tests.
#[derive(Debug, Default)]
pub struct CaptureSink(Mutex<Vec<String>>);

impl CaptureSink {
    /// Every line written so far, parsed.
    pub fn documents(&self) -> Vec<Value> {
        self.lock()
            .iter()
            // Only this module writes these lines, and it writes JSON.
            .map(|line| serde_json::from_str(line).expect("an EMF line is JSON"))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A push cannot leave the vector half-written, so a poisoned lock is fine.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl MetricsSink for CaptureSink {
    fn write_line(&self, line: String) {
        self.lock().push(line);
    }
}

/// Counts lines and drops them, for the benchmark.
#[derive(Debug, Default)]
pub struct CountingSink(pub AtomicUsize);

impl MetricsSink for CountingSink {
    fn write_line(&self, _line: String) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

const UNITS: &[&str] = &["Milliseconds", "Count", "Seconds", "Microseconds", "None"];

/// `Ok` when `document` is a valid EMF document; otherwise what is wrong with it.
pub fn check_emf(document: &Value) -> Result<(), String> {
    let root = document
        .as_object()
        .ok_or("the document is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    let timestamp = aws.get("Timestamp").and_then(Value::as_i64);
    if timestamp.is_none_or(|ms| ms <= 0) {
        return Err("_aws.Timestamp is not a positive whole number of milliseconds".into());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or("_aws.CloudWatchMetrics is not a non-empty array")?;
    for directive in directives {
        let namespace = directive["Namespace"].as_str().unwrap_or_default();
        if namespace.is_empty() || namespace.len() > 256 {
            return Err("a Namespace is missing, empty or too long".into());
        }
        let sets = directive["Dimensions"]
            .as_array()
            .ok_or("Dimensions is not an array")?;
        for set in sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > MAX_DIMENSIONS {
                return Err(format!("a dimension set has {} dimensions", set.len()));
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                match root.get(name).and_then(Value::as_str) {
                    Some(value) if !value.is_empty() && value.len() <= 1024 => {}
                    _ => return Err(format!("dimension {name} has no valid string value")),
                }
            }
        }
        let metrics = directive["Metrics"]
            .as_array()
            .ok_or("Metrics is not an array")?;
        if metrics.is_empty() || metrics.len() > MAX_METRICS {
            return Err(format!("{} metrics declared", metrics.len()));
        }
        for metric in metrics {
            let name = metric["Name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .ok_or("a metric has no Name")?;
            if let Some(unit) = metric.get("Unit") {
                if !unit.as_str().is_some_and(|u| UNITS.contains(&u)) {
                    return Err(format!("metric {name} has unit {unit}"));
                }
            }
            if !root.get(name).is_some_and(Value::is_number) {
                return Err(format!("metric {name} is declared without a numeric value"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stream_consumer::metrics::{Document, Unit};

    #[test]
    fn documents_the_writer_makes_are_valid() {
        let line = Document::new(chrono::Utc::now())
            .dimension_sets(&[&["FunctionName", "Status"], &["FunctionName"]])
            .dimension("FunctionName", "f")
            .dimension("Status", "DONE")
            .metric("IntegrationCount", Unit::Count, 1.0)
            .property("RunId", "r")
            .to_line("Test");
        check_emf(&serde_json::from_str(&line).unwrap()).unwrap();
    }

    #[test]
    fn a_declared_metric_without_a_value_or_a_dimension_without_one_is_caught() {
        let mut document = json!({
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{
                "Namespace": "Test", "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": "IntegrationCount", "Unit": "Count"}]}]},
            "FunctionName": "f",
        });
        assert!(check_emf(&document)
            .unwrap_err()
            .contains("IntegrationCount"));
        document["IntegrationCount"] = json!(1);
        document.as_object_mut().unwrap().remove("FunctionName");
        assert!(check_emf(&document).unwrap_err().contains("FunctionName"));
    }
}
