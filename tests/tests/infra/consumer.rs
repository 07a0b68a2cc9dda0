//! The stream consumer's wiring in the template: its stream mapping reports
//! failures per record, gives up in bounds and filters as the consumer expects,
//! and the dashboard shows its metrics and every alarm.

use crate::template::{function, of_type, single, strings, sub_text, template};

#[test]
fn the_stream_mapping_reports_failures_per_record_and_gives_up_in_bounds() {
    let template = template();
    let (id, consumer) = function(&template, "stream-consumer").expect("the consumer");
    let events = consumer["Properties"]["Events"]
        .as_mapping()
        .expect("its events");
    let stream = events
        .values()
        .find(|e| e["Type"] == "DynamoDB")
        .unwrap_or_else(|| panic!("{id} has no stream event"));
    let p = &stream["Properties"];
    assert_eq!(
        strings(&p["FunctionResponseTypes"]),
        ["ReportBatchItemFailures"]
    );
    assert_eq!(p["BisectBatchOnFunctionError"], true);
    let retries = p["MaximumRetryAttempts"].as_u64().expect("bounded retries");
    assert!((1..=100).contains(&retries), "{retries} retries");
    let age = p["MaximumRecordAgeInSeconds"]
        .as_u64()
        .expect("a bounded record age");
    assert!((60..=86_400).contains(&age), "record age {age} s");
    assert!(
        !p["DestinationConfig"]["OnFailure"]["Destination"].is_null(),
        "an on-failure destination"
    );

    let pattern = p["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("a filter");
    let pattern: serde_json::Value = serde_json::from_str(pattern).expect("the filter is JSON");
    let consumers: serde_json::Value = serde_json::from_str(stream_consumer::FILTER_PATTERN)
        .expect("the consumer's filter is JSON");
    assert_eq!(
        pattern, consumers,
        "the mapping filters as the consumer (and the local poller) expect"
    );

    let schedule = events
        .values()
        .find(|e| e["Type"] == "Schedule")
        .expect("a schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(1 minute)");
}

#[test]
fn the_dashboard_shows_every_consumer_metric_and_every_alarm() {
    let template = template();
    let dashboard = single(&template, "AWS::CloudWatch::Dashboard");
    let body = sub_text(&dashboard["Properties"]["DashboardBody"]).expect("a !Sub body");
    for (id, _) in of_type(&template, "AWS::CloudWatch::Alarm") {
        assert!(
            body.contains(&format!("${{{id}.Arn}}")),
            "alarm {id} is not on the dashboard"
        );
    }
    // The consumer's metric names, from its metrics module.
    use stream_consumer::metrics::{
        ABANDONED_RUNS, INTEGRATION_COUNT, INTEGRATION_DURATION, MALFORMED_RECORDS, STREAM_LAG,
    };
    for metric in [
        INTEGRATION_DURATION,
        INTEGRATION_COUNT,
        ABANDONED_RUNS,
        STREAM_LAG,
        MALFORMED_RECORDS,
    ] {
        assert!(body.contains(metric), "{metric} is not on the dashboard");
    }
    // What CloudWatch receives once CloudFormation has substituted the variables.
    let mut substituted = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("a closed ${...}") + start;
        substituted.push_str(&rest[..start]);
        substituted.push_str("value");
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let parsed: serde_json::Value =
        serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    assert!(parsed["widgets"].as_array().is_some_and(|w| w.len() >= 6));
}
