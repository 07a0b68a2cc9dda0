//! CloudWatch Embedded Metric Format, written by a small typed writer: one JSON
//! document per line, through an injectable sink (stdout on Lambda; the test kit's
//! capture and counting sinks in tests and the benchmark).
//!
//! A hand-written writer rather than a crate: the consumer emits four kinds of
//! document with fixed dimension sets, which a typed struct and serde cover in a
//! few lines, and the tests hold every document to the EMF rules.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

// Metric names, as the dashboard reads them.
pub const INTEGRATION_DURATION: &str = "IntegrationDuration";
pub const INTEGRATION_COUNT: &str = "IntegrationCount";
pub const ABANDONED_RUNS: &str = "AbandonedRuns";
pub const STREAM_LAG: &str = "StreamLag";
pub const MALFORMED_RECORDS: &str = "MalformedRecords";
/// Late finishes of legacy integration functions, undone by the consumer.
pub const LATE_FINISHES: &str = "LateFinishes";

// Dimension names. Contact and run ids are never dimensions: each would make a
// metric of its own. They go in as properties, which Logs Insights can query.
pub const FUNCTION_NAME: &str = "FunctionName";
pub const STATUS: &str = "Status";
pub const REASON: &str = "Reason";

/// CloudWatch's limit on the dimensions of one dimension set.
pub const MAX_DIMENSIONS: usize = 30;
/// CloudWatch's limit on the metrics of one document.
pub const MAX_METRICS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Count,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Milliseconds => "Milliseconds",
            Unit::Count => "Count",
        }
    }
}

/// One EMF document: metrics with their values, the dimension sets they are
/// aggregated by, the dimension values, and free properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub timestamp: DateTime<Utc>,
    pub dimension_sets: Vec<Vec<&'static str>>,
    pub dimensions: Vec<(&'static str, String)>,
    pub metrics: Vec<(&'static str, Unit, f64)>,
    pub properties: Vec<(&'static str, String)>,
}

impl Document {
    pub fn new(timestamp: DateTime<Utc>) -> Self {
        Self {
            timestamp,
            dimension_sets: vec![Vec::new()],
            dimensions: Vec::new(),
            metrics: Vec::new(),
            properties: Vec::new(),
        }
    }

    /// Aggregates by `sets`; every name used must get a value through [`Self::dimension`].
    pub fn dimension_sets(mut self, sets: &[&[&'static str]]) -> Self {
        self.dimension_sets = sets.iter().map(|set| set.to_vec()).collect();
        self
    }

    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.dimensions.push((name, value.into()));
        self
    }

    pub fn metric(mut self, name: &'static str, unit: Unit, value: f64) -> Self {
        self.metrics.push((name, unit, value));
        self
    }

    pub fn property(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.properties.push((name, value.into()));
        self
    }

    /// The document as one line of JSON, in the namespace given.
    pub fn to_line(&self, namespace: &str) -> String {
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": self.dimension_sets,
                    "Metrics": self.metrics.iter()
                        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        // Properties first, so a property can never shadow a dimension or a metric.
        for (name, value) in &self.properties {
            root.insert((*name).into(), Value::String(value.clone()));
        }
        for (name, value) in &self.dimensions {
            root.insert((*name).into(), Value::String(value.clone()));
        }
        for (name, _, value) in &self.metrics {
            root.insert((*name).into(), json!(value));
        }
        Value::Object(root).to_string()
    }
}

/// Where EMF lines go.
pub trait MetricsSink: Send + Sync {
    fn write_line(&self, line: String);
}

/// Standard output: on Lambda, CloudWatch Logs turns EMF lines into metrics.
#[derive(Debug, Default)]
pub struct StdoutSink;

impl MetricsSink for StdoutSink {
    fn write_line(&self, line: String) {
        println!("{line}");
    }
}
