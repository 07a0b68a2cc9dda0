//! Reading the fixtures: what each kind of record is about.

use serde_json::Value;

use super::*;

fn fixture(text: &str) -> Vec<Value> {
    let event: Value = serde_json::from_str(text).expect("fixtures are JSON");
    event["Records"]
        .as_array()
        .expect("fixtures hold Records")
        .clone()
}

fn only(text: &str) -> Record {
    let records = fixture(text);
    assert_eq!(records.len(), 1);
    read(&records[0]).expect("the record reads")
}

macro_rules! streams {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/streams/", $name))
    };
}

#[test]
fn a_done_record_finishes_its_run_with_the_figures_of_the_new_image() {
    let record = only(streams!("completion-done.json"));
    let Change::Completion(run) = record.change else {
        panic!("expected a completion, got {:?}", record.change)
    };
    assert_eq!(run.status, IntegrationStatus::Done);
    assert_eq!(run.item_run, run.run_id);
    assert_eq!(run.key, run.run_id.unwrap().to_string());
    assert_eq!(
        run.function_name.as_deref(),
        Some("dev-rules-integrationEcho")
    );
    assert_eq!(run.duration, Some(Duration::from_millis(1234)));
    assert!(!run.swept);
}

#[test]
fn each_terminal_status_is_a_completion_and_the_sweep_s_timeout_is_told_apart() {
    for (text, status, swept) in [
        (
            streams!("completion-error.json"),
            IntegrationStatus::Error,
            false,
        ),
        (
            streams!("completion-timeout.json"),
            IntegrationStatus::Timeout,
            false,
        ),
        (
            streams!("completion-timeout-swept.json"),
            IntegrationStatus::Timeout,
            true,
        ),
    ] {
        let Change::Completion(run) = only(text).change else {
            panic!("expected a completion")
        };
        assert_eq!((run.status, run.swept), (status, swept));
    }
}

#[test]
fn an_older_writer_s_run_is_named_by_the_old_image_and_timed_by_the_record() {
    let Change::Completion(run) = only(streams!("older-writer.json")).change else {
        panic!("expected a completion")
    };
    assert_eq!(run.item_run, None);
    assert_eq!(
        run.run_id.as_ref().map(RunId::as_str),
        Some("0d3c7a0e-1111-4c1e-9a00-000000000006")
    );
    assert_eq!(
        run.function_name.as_deref(),
        Some("dev-rules-integrationLegacy")
    );
    assert_eq!(run.duration, Some(Duration::from_secs(2)));
}

#[test]
fn a_start_over_an_open_run_supersedes_it() {
    let Change::Replaced { superseded, carry } = only(streams!("superseded.json")).change else {
        panic!("expected a replacement")
    };
    let superseded = superseded.expect("the old run was open");
    assert_eq!(superseded.key, "0d3c7a0e-1111-4c1e-9a00-00000000005a");
    assert_eq!(
        superseded.function_name.as_deref(),
        Some("dev-rules-integrationCrm")
    );
    assert!(carry.is_empty());
}

#[test]
fn ttl_removals_in_aws_s_and_dynamodb_local_s_shape_are_removals() {
    for text in [
        streams!("ttl-removal-aws.json"),
        streams!("ttl-removal-local.json"),
    ] {
        assert_eq!(only(text).change, Change::Removed);
    }
}

#[test]
fn other_state_keys_are_unrelated_and_a_bad_status_is_malformed_alone() {
    for raw in fixture(streams!("unrelated-keys.json")) {
        assert_eq!(read(&raw).unwrap().change, Change::Unrelated);
    }
    let records = fixture(streams!("malformed.json"));
    assert_eq!(read(&records[0]).unwrap().change, Change::Unrelated);
    let bad = read(&records[1]).unwrap_err();
    assert_eq!(
        bad.sequence,
        records[1]["dynamodb"]["SequenceNumber"].as_str().unwrap()
    );
    assert!(bad.reason.contains("FINISHED"), "{}", bad.reason);
    assert!(matches!(
        read(&records[2]).unwrap().change,
        Change::Completion(_)
    ));
}

#[test]
fn the_stamp_s_own_write_is_recognised() {
    let mut raw = fixture(streams!("completion-done.json")).remove(0);
    raw["dynamodb"]["NewImage"]["MeasuredAt"] = serde_json::json!({"N": "1"});
    assert_eq!(read(&raw).unwrap().change, Change::Stamp);
}

#[test]
fn a_malformed_record_is_named_without_quoting_its_values() {
    let phone = "+15555550123";
    let done = fixture(streams!("completion-done.json")).remove(0);
    let mut wrong_type = done.clone();
    wrong_type["dynamodb"]["NewImage"]["StartedAt"] = serde_json::json!({ "S": phone });
    let mut unknown_variant = done.clone();
    unknown_variant["dynamodb"]["StreamViewType"] = serde_json::json!(phone);
    let mut not_a_status = done;
    not_a_status["dynamodb"]["NewImage"]["Value"] = serde_json::json!({ "S": phone });
    for raw in [wrong_type, unknown_variant, not_a_status] {
        let bad = read(&raw).unwrap_err();
        assert!(!bad.reason.contains(phone), "{}", bad.reason);
        assert!(!bad.to_string().contains(phone), "{bad}");
    }
}
