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
fn an_older_writer_s_put_over_a_named_run_keeps_that_run_to_put_back() {
    let Change::Older(older) = only(streams!("older-writer.json")).change else {
        panic!("expected an older writer's put")
    };
    let OlderWrite::Stripped { run, write } = *older else {
        panic!("expected an older writer's put over a named run")
    };
    assert_eq!(write.run_id, None);
    assert!(write.status.is_terminal());
    assert_eq!(
        run.run_id.as_ref().map(RunId::as_str),
        Some("0d3c7a0e-1111-4c1e-9a00-000000000006")
    );
    assert_eq!(
        run.function_name.as_deref(),
        Some("dev-rules-integrationLegacy")
    );
    assert!(run.started_at.is_some() && run.deadline.is_some());
}

/// The older writer's put of `status` (no run attributes, a TTL of its own)
/// over the fixture's status item.
fn older_put(mut raw: Value, status: &str) -> Value {
    let image = &mut raw["dynamodb"]["NewImage"];
    let keys = ["ContactId", "What"].map(|k| (k, image[k].clone()));
    *image = serde_json::json!({
        "Value": {"S": status},
        "Expiry": {"N": "1795529999"},
    });
    for (k, v) in keys {
        image[k] = v;
    }
    raw
}

#[test]
fn an_older_writer_s_put_over_a_finished_run_is_late_and_keeps_what_the_caller_was_told() {
    let mut raw = fixture(streams!("completion-timeout.json")).remove(0);
    raw["dynamodb"]["OldImage"] = raw["dynamodb"]["NewImage"].clone();
    for late in ["DONE", "ERROR", "RUN"] {
        let record = read(&older_put(raw.clone(), late)).unwrap();
        let Change::Older(older) = record.change else {
            panic!("expected an older writer's put")
        };
        let OlderWrite::Late {
            told,
            told_item,
            late: put,
        } = *older
        else {
            panic!("expected a late write")
        };
        assert_eq!(told.status, IntegrationStatus::Timeout);
        assert!(told.run_id.is_some());
        assert!(told_item.contains_key("RunId"));
        assert_eq!(put.status.as_str(), late);
        assert_eq!(put.expiry, Some(1_795_529_999));
    }
}

#[test]
fn a_start_without_run_attributes_is_a_new_run_and_its_unnamed_finish_a_completion() {
    let raw = fixture(streams!("older-writer.json")).remove(0);
    let mut start = older_put(raw.clone(), "START");
    assert!(matches!(
        read(&start).unwrap().change,
        Change::Replaced {
            superseded: Some(_),
            ..
        }
    ));
    // The older start's run finished by an older function: nothing names it.
    start["dynamodb"]["OldImage"] = start["dynamodb"]["NewImage"].clone();
    let done = older_put(start, "DONE");
    let Change::Older(older) = read(&done).unwrap().change else {
        panic!("expected an older writer's put")
    };
    let OlderWrite::Unnamed { write, .. } = *older else {
        panic!("expected an unnamed completion")
    };
    assert_eq!(write.status, IntegrationStatus::Done);
}

#[test]
fn the_consumer_s_own_repair_is_recognised() {
    let mut raw = fixture(streams!("completion-done.json")).remove(0);
    raw["dynamodb"]["OldImage"] = older_put(raw.clone(), "DONE")["dynamodb"]["NewImage"].clone();
    raw["dynamodb"]["NewImage"]["RepairedAt"] = serde_json::json!({"N": "1"});
    assert_eq!(read(&raw).unwrap().change, Change::Repair);
}

#[test]
fn another_table_s_records_are_told_apart_from_malformed_ones() {
    let mut other = fixture(streams!("completion-done.json")).remove(0);
    other["dynamodb"]["Keys"] = serde_json::json!({"pk": {"B": "AAEC"}, "sk": {"N": "7"}});
    other["dynamodb"]["NewImage"] = serde_json::json!({
        "pk": {"B": "AAEC"}, "sk": {"N": "7"}, "tags": {"SS": ["a", "b"]}, "blobs": {"BS": ["AQ=="]}
    });
    other["dynamodb"]["OldImage"] = serde_json::json!({});
    assert_eq!(read(&other).unwrap().change, Change::OtherTable);
    // A third key, or the table's names with other types, are not the table's either.
    let mut three = fixture(streams!("completion-done.json")).remove(0);
    three["dynamodb"]["Keys"]["Extra"] = serde_json::json!({"S": "x"});
    assert_eq!(read(&three).unwrap().change, Change::OtherTable);
    let mut typed = fixture(streams!("completion-done.json")).remove(0);
    typed["dynamodb"]["Keys"]["What"] = serde_json::json!({"B": "AAEC"});
    assert_eq!(read(&typed).unwrap().change, Change::OtherTable);
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

#[test]
fn the_consumer_s_marks_on_a_bare_item_and_the_original_s_timeout_are_not_late_puts() {
    let mut raw = fixture(streams!("completion-timeout.json")).remove(0);
    raw["dynamodb"]["OldImage"] = older_put(raw.clone(), "DONE")["dynamodb"]["NewImage"].clone();
    // A mark: the same put, with the consumer's measured runs added.
    let mut mark = older_put(raw.clone(), "DONE");
    mark["dynamodb"]["NewImage"]["MeasuredRuns"] = serde_json::json!({"SS": ["record:1"]});
    assert_eq!(read(&mark).unwrap().change, Change::Other);
    // The original check-timeout's TIMEOUT over a finish: what the caller was told.
    let timeout = older_put(raw, "TIMEOUT");
    assert_eq!(read(&timeout).unwrap().change, Change::Other);
}
