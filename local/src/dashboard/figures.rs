//! What the dashboard draws, read from the consumer's EMF documents: each
//! document cut down to the fields a widget draws ([`Reading`]), and the
//! headline [`Figures`] of a set of them.
//!
//! A document's values are read only for the metrics its `_aws` block declares,
//! as CloudWatch reads them, so a property of the same name is never counted.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use stream_consumer::metrics::{
    ABANDONED_RUNS, FUNCTION_NAME, INTEGRATION_COUNT, INTEGRATION_DURATION, LATE_FINISHES,
    MALFORMED_RECORDS, REASON, STATUS, STREAM_LAG,
};

/// The metrics a widget draws; any other is left off the page.
const DRAWN: [&str; 6] = [
    INTEGRATION_COUNT,
    INTEGRATION_DURATION,
    ABANDONED_RUNS,
    LATE_FINISHES,
    STREAM_LAG,
    MALFORMED_RECORDS,
];

/// The property of a late finish that says how long the late write stood.
const UNDONE_AFTER_MS: &str = "UndoneAfterMs";

/// A dimension value a document left out, as the page names it too.
const UNKNOWN: &str = "unknown";

/// One document as the page embeds it: its time, the drawn metrics' values
/// (EMF allows an array of values per metric) and the dimensions drawn. Contact
/// and run ids, and every other property, are left behind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Reading {
    /// `_aws.Timestamp`, ms since the epoch.
    t: i64,
    m: BTreeMap<&'static str, Vec<f64>>,
    #[serde(rename = "FunctionName", skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    #[serde(rename = "Status", skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(rename = "Reason", skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(rename = "UndoneAfterMs", skip_serializing_if = "Option::is_none")]
    undone_after_ms: Option<f64>,
}

impl Reading {
    /// The drawn part of `doc`; `None` when it is not an EMF document or
    /// declares none of the drawn metrics.
    pub(super) fn of(doc: &Value) -> Option<Self> {
        let aws = doc.get("_aws")?;
        let t = aws.get("Timestamp")?.as_i64()?;
        let declared = aws
            .get("CloudWatchMetrics")?
            .as_array()?
            .iter()
            .filter_map(|directive| directive.get("Metrics")?.as_array())
            .flatten()
            .filter_map(|metric| metric.get("Name")?.as_str());
        let mut m = BTreeMap::new();
        for name in declared {
            let Some(drawn) = DRAWN.iter().find(|drawn| **drawn == name) else {
                continue;
            };
            let values = match doc.get(name) {
                Some(Value::Array(values)) => values.iter().filter_map(Value::as_f64).collect(),
                Some(value) => value.as_f64().into_iter().collect(),
                None => Vec::new(),
            };
            if !values.is_empty() {
                m.insert(*drawn, values);
            }
        }
        if m.is_empty() {
            return None;
        }
        let text = |name: &str| doc.get(name)?.as_str().map(str::to_owned);
        let undone_after_ms = match doc.get(UNDONE_AFTER_MS) {
            Some(Value::String(text)) => text.parse().ok(),
            Some(value) => value.as_f64(),
            None => None,
        };
        Some(Self {
            t,
            m,
            function: text(FUNCTION_NAME),
            status: text(STATUS),
            reason: text(REASON),
            undone_after_ms,
        })
    }

    fn values(&self, metric: &str) -> &[f64] {
        self.m.get(metric).map_or(&[], Vec::as_slice)
    }
}

/// What the page shows, computed from the documents (also what the test checks against).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Runs measured: the sum of `IntegrationCount`.
    pub runs: u64,
    /// `IntegrationCount` by `Status`.
    pub by_status: BTreeMap<String, u64>,
    /// `IntegrationCount` by (`FunctionName`, `Status`).
    pub by_function_status: BTreeMap<(String, String), u64>,
    /// [`nearest_rank`] p50 of every `IntegrationDuration` value.
    pub duration_p50_ms: Option<f64>,
    /// [`nearest_rank`] p95 of every `IntegrationDuration` value.
    pub duration_p95_ms: Option<f64>,
    /// `AbandonedRuns` by `Reason` (Deadline, Superseded).
    pub abandoned: BTreeMap<String, u64>,
    /// The sum of `LateFinishes`.
    pub late_finishes: u64,
    /// The largest `StreamLag`.
    pub stream_lag_max_ms: Option<f64>,
    /// The sum of `MalformedRecords`.
    pub malformed: u64,
}

/// The headline figures of `docs`; documents that are not EMF are passed over.
pub fn figures(docs: &[Value]) -> Figures {
    let readings: Vec<Reading> = docs.iter().filter_map(Reading::of).collect();
    let mut figures = Figures::default();
    let mut durations = Vec::new();
    let label = |value: &Option<String>| value.clone().unwrap_or_else(|| UNKNOWN.into());
    for reading in &readings {
        let total = |metric| {
            reading
                .values(metric)
                .iter()
                .map(|v| count(*v))
                .sum::<u64>()
        };
        let runs = total(INTEGRATION_COUNT);
        if runs > 0 {
            figures.runs += runs;
            let status = label(&reading.status);
            *figures.by_status.entry(status.clone()).or_default() += runs;
            *figures
                .by_function_status
                .entry((label(&reading.function), status))
                .or_default() += runs;
        }
        durations.extend_from_slice(reading.values(INTEGRATION_DURATION));
        let abandoned = total(ABANDONED_RUNS);
        if abandoned > 0 {
            *figures.abandoned.entry(label(&reading.reason)).or_default() += abandoned;
        }
        figures.late_finishes += total(LATE_FINISHES);
        figures.malformed += total(MALFORMED_RECORDS);
        for lag in reading.values(STREAM_LAG) {
            figures.stream_lag_max_ms =
                Some(figures.stream_lag_max_ms.map_or(*lag, |m| m.max(*lag)));
        }
    }
    durations.sort_by(f64::total_cmp);
    figures.duration_p50_ms = nearest_rank(&durations, 50);
    figures.duration_p95_ms = nearest_rank(&durations, 95);
    figures
}

/// A count metric's value as a whole count (the page rounds the same way).
fn count(value: f64) -> u64 {
    value.round().max(0.0) as u64
}

/// The `p`th percentile (0 to 100) of `sorted` values, by nearest rank: the
/// smallest value with at least `p`% of the values at or below it, i.e. the
/// value of rank ⌈p·n/100⌉ (1-based, at least 1). Always one of the values,
/// never an interpolation; `None` when there are none. The page's script
/// (`nearestRank` in page.js) computes it the same way.
pub fn nearest_rank(sorted: &[f64], p: u64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (p.min(100) * n).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_is_the_value_of_rank_p_n_over_100_rounded_up() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(nearest_rank(&values, 50), Some(10.0));
        assert_eq!(nearest_rank(&values, 95), Some(19.0));
        assert_eq!(nearest_rank(&values, 100), Some(20.0));
        assert_eq!(nearest_rank(&values, 0), Some(1.0));
        assert_eq!(nearest_rank(&[7.0], 95), Some(7.0));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn a_value_counts_only_for_a_metric_the_document_declares() {
        // GIVEN a document whose `_aws` declares StreamLag only, with a
        // MalformedRecords key beside it
        let doc = serde_json::json!({
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [[]],
                "Metrics": [{"Name": "StreamLag", "Unit": "Milliseconds"}]}]},
            "StreamLag": [5.0, 9.0],
            "MalformedRecords": 3,
        });
        // WHEN its figures are read THEN only the declared metric counts
        let figures = figures(&[doc, serde_json::json!({"not": "emf"})]);
        assert_eq!(figures.stream_lag_max_ms, Some(9.0));
        assert_eq!(figures.malformed, 0);
    }
}
