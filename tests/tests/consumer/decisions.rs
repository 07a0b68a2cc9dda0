//! The consumer's one decision, without DynamoDB: `decide` row for row of
//! docs/design.md's table ("What a record is about"), then the legacy rows
//! against what stands now, then the saved fixtures read and decided.
//! (These were `record/tests.rs` and, for the branches reached only after
//! reads, scenarios on DynamoDB Local; the ones about DynamoDB's conditions
//! stay in `legacy.rs`.)

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use shared::{
    store::ContactNow,
    IntegrationStatus::{self, Done, Error, Run, Start, Timeout},
    RunId, StatusItem,
};
use stream_consumer::{
    decide::{decide, Decision, Seen},
    record::{read, Change},
};

const RUN_A: &str = "0d3c7a0e-1111-4c1e-9a00-00000000000a";
const RUN_B: &str = "0d3c7a0e-1111-4c1e-9a00-00000000000b";

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

/// A legacy put: nothing but the status and its own `Expiry`.
fn put(status: IntegrationStatus, expiry: i64) -> StatusItem {
    StatusItem::bare(status, Some(expiry))
}

/// One of our runs, opened at 0 s with a 10 s deadline.
fn ours(status: IntegrationStatus, run: &str) -> StatusItem {
    StatusItem {
        run_id: Some(RunId::parse(run).unwrap()),
        started_at: Some(at(0)),
        deadline: Some(at(10)),
        function_name: Some("dev-rules-integrationEcho".into()),
        ended_at: status.is_terminal().then(|| at(4)),
        ..put(status, 100)
    }
}

fn decided(old: Option<&StatusItem>, new: &StatusItem, now: Option<&ContactNow>) -> Decision {
    decide(&Seen {
        old,
        new,
        sequence: "42",
        created: Some(at(5)),
        now,
        at: at(6),
    })
}

/// What a decision is, in a word, for the table below.
fn kind(decision: &Decision) -> String {
    match decision {
        Decision::Ignore(why) => format!("ignore: {why}"),
        Decision::Read => "read".into(),
        Decision::Measure(run) => format!("measure {} as {}", run.status, run.key),
        Decision::Carry { superseded, carry } => format!(
            "carry {} (superseded: {})",
            carry.len(),
            superseded.as_ref().map_or("none", |s| s.key.as_str())
        ),
        Decision::Restore { then, .. } => format!("restore, then {}", then.is_some()),
        Decision::KeepAside(_) => "keep aside".into(),
        Decision::Undo { finish, .. } => format!("undo, counted {}", finish.is_some()),
    }
}

fn with(status: Option<StatusItem>, items: &[(&str, &str, i64)]) -> ContactNow {
    ContactNow {
        status,
        items: items
            .iter()
            .map(|(what, value, expiry)| (what.to_string(), (value.to_string(), Some(*expiry))))
            .collect(),
    }
}

#[test]
fn each_row_of_the_design_s_table_decides_as_the_table_says() {
    let measured = StatusItem {
        measured_at: Some(1),
        ..ours(Done, RUN_A)
    };
    let repaired = StatusItem {
        repaired_at: Some(1),
        ..ours(Done, RUN_A)
    };
    let swept = StatusItem {
        timed_out_by: Some("sweep".into()),
        ..ours(Timeout, RUN_A)
    };
    let mut marked = put(Done, 100);
    marked.measured_runs = vec!["record:1".into()];
    let finished_b = StatusItem {
        measured_runs: vec![RUN_A.into()],
        ..ours(Done, RUN_B)
    };
    #[rustfmt::skip]
    let rows: Vec<(&str, Option<StatusItem>, StatusItem, String)> = vec![
        ("the stamp's own write", Some(ours(Run, RUN_A)), measured, "ignore: the metrics stamp's own write".into()),
        ("the consumer's own repair", Some(put(Done, 100)), repaired, "ignore: the consumer's own repair".into()),
        ("a late legacy put over a finish", Some(ours(Timeout, RUN_A)), put(Done, 200), "read".into()),
        ("a legacy put over our open run", Some(ours(Start, RUN_A)), put(Run, 200), "read".into()),
        ("an unnamed finish over an unnamed open run", Some(put(Start, 100)), put(Done, 200), "read".into()),
        ("an unnamed finish of ours over nothing", None, StatusItem { ended_at: Some(at(3)), ..put(Error, 200) }, "read".into()),
        ("a finish", Some(ours(Run, RUN_A)), ours(Done, RUN_A), format!("measure DONE as {RUN_A}")),
        ("the sweep's timeout", Some(ours(Run, RUN_A)), swept, format!("measure TIMEOUT as {RUN_A}")),
        ("a START over an open run", Some(ours(Run, RUN_A)), ours(Start, RUN_B), format!("carry 0 (superseded: {RUN_A})")),
        ("a START over a finished run", Some(finished_b), ours(Start, RUN_A), "carry 1 (superseded: none)".into()),
        ("a legacy START over its own run", Some(put(Start, 100)), put(Start, 200), "carry 0 (superseded: record:42)".into()),
        ("the legacy check-timeout's TIMEOUT over a finish", Some(put(Done, 100)), put(Timeout, 200), "ignore: no run finished or replaced".into()),
        ("the consumer's mark on a legacy finish", Some(put(Done, 100)), marked, "ignore: no run finished or replaced".into()),
        ("open to open", Some(ours(Start, RUN_A)), ours(Run, RUN_A), "ignore: no run finished or replaced".into()),
    ];
    for (row, old, new, expected) in rows {
        assert_eq!(kind(&decided(old.as_ref(), &new, None)), expected, "{row}");
    }
}

#[test]
fn a_finish_is_measured_with_the_figures_of_its_images() {
    let old = ours(Run, RUN_A);
    let Decision::Measure(run) = decided(Some(&old), &ours(Done, RUN_A), None) else {
        panic!("a completion")
    };
    assert_eq!(run.duration, Some(Duration::from_secs(4)));
    assert_eq!(run.item_run.as_ref().map(RunId::as_str), Some(RUN_A));
    assert_eq!(
        run.function_name.as_deref(),
        Some("dev-rules-integrationEcho")
    );
    assert!(!run.swept);
}

#[test]
fn a_late_put_is_undone_against_what_stands_and_left_when_it_is_gone() {
    let told = ours(Timeout, RUN_A);
    let late = put(Done, 200);
    let items = [
        ("IntegrationEnd", "2027-01-15T08:00:04.000+00:00", 200),
        ("CurrentRule_functionOutputKey", "Out", 100),
        ("Out", "{\"late\":1}", 200),
    ];
    let now = with(Some(late.clone()), &items);
    let Decision::Undo { undo, finish } = decided(Some(&told), &late, Some(&now)) else {
        panic!("an undo")
    };
    assert_eq!(undo.told, told);
    assert_eq!(undo.undone, ["DONE@200"]);
    assert_eq!(undo.cause, Some(Some("The request timed out".into())));
    assert_eq!(undo.remove_output, Some(("Out".into(), 200)));
    let kept: Value = serde_json::from_str(undo.late_finish.as_deref().unwrap()).unwrap();
    assert_eq!(kept["Output"], "{\"late\":1}");
    assert_eq!(finish.unwrap().told, Timeout);
    // A late RUN is undone, not counted.
    let run = put(Run, 200);
    let now_run = with(Some(run.clone()), &[]);
    assert_eq!(
        kind(&decided(Some(&told), &run, Some(&now_run))),
        "undo, counted false"
    );
    #[rustfmt::skip]
    let left = [
        (None, "ignore: status item removed"),
        (Some(StatusItem { undone_puts: vec!["DONE@200".into()], ..told.clone() }), "ignore: the late write is undone already"),
        (Some(ours(Start, RUN_B)), "ignore: a newer write replaced the late one before it was undone"),
    ];
    for (current, expected) in left {
        let now = with(current, &[]);
        assert_eq!(kind(&decided(Some(&told), &late, Some(&now))), expected);
    }
}

#[test]
fn a_stripped_run_gets_its_identity_back_unless_the_item_moved_on() {
    let run = ours(Start, RUN_A);
    let started = shared::time::format_rules_engine(at(0));
    // The same writer's finish at 12 s, past the run's 10 s deadline.
    let late_end = shared::time::format_rules_engine(at(12));
    let restore = |current: Option<StatusItem>, write: &StatusItem| {
        let items = [
            ("IntegrationStart", started.as_str(), 100),
            ("IntegrationEnd", &late_end, 300),
        ];
        kind(&decided(Some(&run), write, Some(&with(current, &items))))
    };
    let stripped = put(Run, 200);
    assert_eq!(
        restore(Some(stripped.clone()), &stripped),
        "restore, then false"
    );
    let done = put(Done, 200);
    assert_eq!(restore(Some(done.clone()), &done), "restore, then true");
    assert_eq!(
        restore(Some(run.clone()), &stripped),
        "ignore: the run's identity is back already"
    );
    assert_eq!(
        restore(Some(ours(Start, RUN_B)), &stripped),
        "ignore: a newer run holds the contact"
    );
    assert_eq!(restore(None, &stripped), "ignore: status item removed");
    // A finish past the deadline: a timeout of ours may lie between, so it is
    // left to its own record, the identity kept aside for it...
    let finished_late = put(Done, 300);
    assert_eq!(
        restore(Some(finished_late.clone()), &stripped),
        "keep aside"
    );
    // ...and a finish whose own record this is, is measured with the run's identity.
    assert_eq!(
        restore(Some(finished_late), &done),
        format!("measure DONE as {RUN_A}")
    );
    // A newer IntegrationStart: a newer run began.
    let newer = with(
        Some(stripped.clone()),
        &[("IntegrationStart", "2027-01-15T09:00:00.000+00:00", 100)],
    );
    assert_eq!(
        kind(&decided(Some(&run), &stripped, Some(&newer))),
        "ignore: a newer run holds the contact"
    );
}

#[test]
fn an_unnamed_finish_is_named_from_what_was_kept_aside_or_measured_from_the_state() {
    let over = put(Run, 200);
    let done = put(Done, 300);
    let aside =
        json!({"RunId": RUN_A, "StartedAt": 1_800_000_000_000_i64, "StrippedBy": "RUN@200"});
    let now = with(
        Some(done.clone()),
        &[("IntegrationStrippedRun", &aside.to_string(), 1)],
    );
    let Decision::Restore { restore, then } = decided(Some(&over), &done, Some(&now)) else {
        panic!("named from aside")
    };
    assert!(restore.from_aside);
    assert_eq!(
        then.unwrap().run_id.as_ref().map(RunId::as_str),
        Some(RUN_A)
    );
    let state = [
        ("IntegrationStart", "2027-01-15T08:00:00.000+00:00", 1),
        ("IntegrationEnd", "2027-01-15T08:00:02.500+00:00", 300),
        ("CurrentRule_functionName", "integrationEcho", 1),
    ];
    let now = with(Some(done.clone()), &state);
    let Decision::Measure(run) = decided(Some(&put(Start, 100)), &done, Some(&now)) else {
        panic!("measured from the state")
    };
    assert_eq!((run.key.as_str(), run.run_id), ("record:42", None));
    assert_eq!(run.function_name.as_deref(), Some("integrationEcho"));
    assert_eq!(run.duration, Some(Duration::from_millis(2500)));
    let undone = with(
        Some(StatusItem {
            undone_puts: vec!["DONE@300".into()],
            ..ours(Timeout, RUN_A)
        }),
        &[],
    );
    assert_eq!(
        kind(&decided(None, &done, Some(&undone))),
        "ignore: a late put, undone already"
    );
}

fn fixture(text: &str) -> Vec<Value> {
    let event: Value = serde_json::from_str(text).expect("fixtures are JSON");
    event["Records"]
        .as_array()
        .expect("fixtures hold Records")
        .clone()
}

macro_rules! streams {
    ($name:literal) => {
        include_str!(concat!("../../fixtures/streams/", $name))
    };
}

/// The fixture's one record, read and decided with nothing read since.
fn decided_fixture(text: &str) -> String {
    let record = read(&fixture(text)[0]).expect("the record reads");
    match record.change {
        Change::Status { old, new } => kind(&decided(old.as_deref(), &new, None)),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_saved_fixtures_read_and_decide_as_their_names_say() {
    assert!(decided_fixture(streams!("completion-done.json")).starts_with("measure DONE"));
    assert!(decided_fixture(streams!("completion-error.json")).starts_with("measure ERROR"));
    assert!(
        decided_fixture(streams!("completion-timeout-swept.json")).starts_with("measure TIMEOUT")
    );
    assert_eq!(decided_fixture(streams!("legacy-writer.json")), "read");
    assert!(decided_fixture(streams!("superseded.json")).contains("superseded: 0d3c7a0e"));
    for removal in [
        streams!("ttl-removal-aws.json"),
        streams!("ttl-removal-local.json"),
    ] {
        assert_eq!(decided_fixture(removal), "Removed");
    }
    for raw in fixture(streams!("unrelated-keys.json")) {
        assert_eq!(read(&raw).unwrap().change, Change::Unrelated);
    }
    let malformed = fixture(streams!("malformed.json"));
    let bad = read(&malformed[1]).unwrap_err();
    assert!(bad.reason.contains("FINISHED"), "{}", bad.reason);
}

#[test]
fn another_table_s_records_are_not_malformed_and_a_malformed_one_quotes_no_value() {
    let done = fixture(streams!("completion-done.json")).remove(0);
    let mut other = done.clone();
    other["dynamodb"]["Keys"] = json!({"pk": {"B": "AAEC"}, "sk": {"N": "7"}});
    other["dynamodb"]["NewImage"] = json!({"pk": {"B": "AAEC"}, "tags": {"SS": ["a"]}});
    assert_eq!(read(&other).unwrap().change, Change::OtherTable);
    let mut three = done.clone();
    three["dynamodb"]["Keys"]["Extra"] = json!({"S": "x"});
    assert_eq!(read(&three).unwrap().change, Change::OtherTable);
    let phone = "+15555550123";
    let mut wrong_type = done.clone();
    wrong_type["dynamodb"]["NewImage"]["StartedAt"] = json!({ "S": phone });
    let mut not_a_status = done;
    not_a_status["dynamodb"]["NewImage"]["Value"] = json!({ "S": phone });
    for raw in [wrong_type, not_a_status] {
        let bad = read(&raw).unwrap_err();
        assert!(!bad.to_string().contains(phone), "{bad}");
    }
}
