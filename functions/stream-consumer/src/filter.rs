//! The event source mapping's filter, defined once: the SAM template, the local
//! stream poller and the tests all use this text.

/// Lambda's filter pattern (FilterCriteria) for the state table's stream: only
/// `IntegrationStatus` items, and only while their new image has no metrics
/// stamp, so the stamp's own write and every other state key never reach the
/// consumer. Removals (no new image) do not match either.
///
/// `exists` sits on the type key (`N`), because Lambda applies it to leaves only.
pub const FILTER_PATTERN: &str = r#"{"dynamodb":{"NewImage":{"What":{"S":["IntegrationStatus"]},"MeasuredAt":{"N":[{"exists":false}]}}}}"#;
