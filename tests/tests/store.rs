//! The state table and the run transitions, on DynamoDB Local.

use std::{sync::Arc, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use kit::{new_contact, report, TestTable};
use serde_json::json;
use shared::{
    store::{
        INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START, STATE_TTL, TIMEOUT_CAUSE,
    },
    table, ContactState, IntegrationStatus, ItemChange, Refusal, RunId, RunStart, StoreError,
    SystemClock, Transition,
};

fn echo_start() -> RunStart {
    RunStart {
        function_name: "dev-rules-integrationEcho".into(),
        timeout: Duration::from_secs(10),
    }
}

fn refused(outcome: Transition) -> Refusal {
    match outcome {
        Transition::Refused(refusal) => refusal,
        Transition::Applied => panic!("expected the transition to be refused, it was applied"),
    }
}

#[tokio::test]
async fn start_opens_a_run_with_its_attributes_and_integration_start() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = new_contact();

    let run = store.start(&contact, echo_start()).await.unwrap();

    let status = store
        .status(&contact)
        .await
        .unwrap()
        .expect("a status item");
    assert_eq!(status.status, IntegrationStatus::Start);
    assert_eq!(status.run_id.as_ref(), Some(&run.id));
    assert_eq!(
        status.function_name.as_deref(),
        Some("dev-rules-integrationEcho")
    );
    // Stored in epoch milliseconds, so compare at that precision.
    assert_eq!(
        status.started_at.unwrap().timestamp_millis(),
        clock_ms(&clock)
    );
    assert_eq!(
        status.deadline.unwrap().timestamp_millis(),
        clock_ms(&clock) + 10_000
    );
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(
        state.get_str(INTEGRATION_START),
        Some(shared::time::format_rules_engine(run.started_at).as_str())
    );
    assert_eq!(state.get_str("IntegrationStatus"), Some("START"));
}

fn clock_ms(clock: &shared::ManualClock) -> i64 {
    use shared::Clock;
    clock.now().timestamp_millis()
}

#[tokio::test]
async fn run_then_done_writes_the_output_and_the_end_and_clears_the_cause() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    store
        .write(
            &contact,
            &[ItemChange::put(INTEGRATION_ERROR_CAUSE, "old cause")],
        )
        .await
        .unwrap();
    let run = store.start(&contact, echo_start()).await.unwrap();

    assert_eq!(
        store.run(&contact, Some(&run.id)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.status(&contact).await.unwrap().unwrap().status,
        IntegrationStatus::Run
    );
    let outcome = store
        .done(
            &contact,
            Some(&run.id),
            &[ItemChange::put("EchoResult", "hello")],
        )
        .await
        .unwrap();

    assert_eq!(outcome, Transition::Applied);
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Done));
    assert_eq!(state.get_str("EchoResult"), Some("hello"));
    assert!(state.get_str(INTEGRATION_END).is_some());
    assert_eq!(
        state.get(INTEGRATION_ERROR_CAUSE),
        None,
        "the start and the DONE both clear the cause"
    );
    assert!(state.status().unwrap().ended_at.is_some());
}

#[tokio::test]
async fn start_straight_to_done_is_allowed() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();
    assert_eq!(
        store.done(&contact, Some(&run.id), &[]).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.status(&contact).await.unwrap().unwrap().status,
        IntegrationStatus::Done
    );
}

#[tokio::test]
async fn error_writes_the_cause_and_removes_the_output() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    store
        .write(&contact, &[ItemChange::put("EchoResult", "stale")])
        .await
        .unwrap();
    let run = store.start(&contact, echo_start()).await.unwrap();
    store.run(&contact, Some(&run.id)).await.unwrap();

    let outcome = store
        .error(
            &contact,
            Some(&run.id),
            "CRM unreachable",
            &[ItemChange::delete("EchoResult")],
        )
        .await
        .unwrap();

    assert_eq!(outcome, Transition::Applied);
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Error));
    assert_eq!(
        state.get_str(INTEGRATION_ERROR_CAUSE),
        Some("CRM unreachable")
    );
    assert_eq!(state.get("EchoResult"), None);
    assert!(state.get_str(INTEGRATION_END).is_some());
}

#[tokio::test]
async fn timeout_writes_the_rules_engine_cause_and_the_end() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();

    assert_eq!(
        store.timeout(&contact, Some(&run.id)).await.unwrap(),
        Transition::Applied
    );

    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Timeout));
    assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
    assert!(state.get_str(INTEGRATION_END).is_some());
}

#[tokio::test]
async fn a_late_finisher_after_timeout_is_refused_and_writes_nothing() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();
    store.run(&contact, Some(&run.id)).await.unwrap();
    store.timeout(&contact, Some(&run.id)).await.unwrap();

    let done = store
        .done(
            &contact,
            Some(&run.id),
            &[ItemChange::put("EchoResult", "late")],
        )
        .await
        .unwrap();
    let error = store
        .error(&contact, Some(&run.id), "late failure", &[])
        .await
        .unwrap();

    assert_eq!(
        refused(done),
        Refusal::AlreadyFinished {
            status: IntegrationStatus::Timeout
        }
    );
    assert_eq!(
        refused(error),
        Refusal::AlreadyFinished {
            status: IntegrationStatus::Timeout
        }
    );
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(
        state.get("EchoResult"),
        None,
        "a refused DONE writes no output"
    );
    assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
}

#[tokio::test]
async fn an_old_run_after_a_new_start_is_refused_as_superseded() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let old = store.start(&contact, echo_start()).await.unwrap();
    let new = store.start(&contact, echo_start()).await.unwrap();

    let run = store.run(&contact, Some(&old.id)).await.unwrap();
    let done = store
        .done(
            &contact,
            Some(&old.id),
            &[ItemChange::put("EchoResult", "old")],
        )
        .await
        .unwrap();
    let timeout = store.timeout(&contact, Some(&old.id)).await.unwrap();

    let superseded = Refusal::Superseded {
        current: Some(new.id.clone()),
        status: IntegrationStatus::Start,
    };
    assert_eq!(refused(run), superseded);
    assert_eq!(refused(done), superseded);
    assert_eq!(refused(timeout), superseded);
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.status().unwrap().run_id.as_ref(), Some(&new.id));
    assert_eq!(state.get("EchoResult"), None);
}

#[tokio::test]
async fn run_and_timeout_after_done_are_refused() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();
    store
        .done(
            &contact,
            Some(&run.id),
            &[ItemChange::put("EchoResult", "ok")],
        )
        .await
        .unwrap();

    let again = store.run(&contact, Some(&run.id)).await.unwrap();
    let timeout = store.timeout(&contact, Some(&run.id)).await.unwrap();

    assert_eq!(
        refused(again),
        Refusal::AlreadyFinished {
            status: IntegrationStatus::Done
        }
    );
    assert_eq!(
        refused(timeout),
        Refusal::AlreadyFinished {
            status: IntegrationStatus::Done
        }
    );
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Done));
    assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
}

#[tokio::test]
async fn run_may_be_marked_again_so_a_retried_function_can_redo_its_work() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();
    assert_eq!(
        store.run(&contact, Some(&run.id)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.run(&contact, Some(&run.id)).await.unwrap(),
        Transition::Applied
    );
}

#[tokio::test]
async fn transitions_on_a_contact_without_a_run_are_refused_as_no_run() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let outcome = store.timeout(&contact, Some(&RunId::new())).await.unwrap();
    assert_eq!(refused(outcome), Refusal::NoRun);
    assert_eq!(
        store.status(&contact).await.unwrap(),
        None,
        "a refused transition creates nothing"
    );
}

#[tokio::test]
async fn a_run_written_by_an_older_function_without_a_run_id_is_named_by_no_run_id() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();
    // An integration function written for the original replaces the item with a bare value.
    put_raw(&table, &contact, "IntegrationStatus", "RUN").await;

    let ours = store.timeout(&contact, Some(&run.id)).await.unwrap();
    assert_eq!(
        refused(ours),
        Refusal::Superseded {
            current: None,
            status: IntegrationStatus::Run
        }
    );
    assert_eq!(
        store.timeout(&contact, None).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.status(&contact).await.unwrap().unwrap().status,
        IntegrationStatus::Timeout
    );
}

#[tokio::test]
async fn start_supersedes_a_finished_run_and_clears_its_end_and_cause() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let first = store.start(&contact, echo_start()).await.unwrap();
    store
        .error(&contact, Some(&first.id), "boom", &[])
        .await
        .unwrap();

    let second = store.start(&contact, echo_start()).await.unwrap();

    assert_ne!(first.id, second.id);
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Start));
    assert_eq!(state.get(INTEGRATION_END), None);
    assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
}

#[tokio::test]
async fn open_runs_are_in_the_pending_index_and_finished_runs_leave_it() {
    let table = TestTable::new().await;
    let store = table.store();
    let (open, finished) = (new_contact(), new_contact());
    store.start(&open, echo_start()).await.unwrap();
    let run = store.start(&finished, echo_start()).await.unwrap();
    store.done(&finished, Some(&run.id), &[]).await.unwrap();

    let mut pending = Vec::new();
    for shard in 0..table::PENDING_SHARDS {
        let page = table
            .client
            .query()
            .table_name(&table.name)
            .index_name(table::PENDING_RUNS_INDEX)
            .key_condition_expression("PendingShard = :s")
            .expression_attribute_values(":s", AttributeValue::N(shard.to_string()))
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let Some(AttributeValue::S(contact)) = item.get("ContactId") else {
                panic!("index item without ContactId")
            };
            assert!(
                item.contains_key("RunId") && item.contains_key("FunctionName"),
                "run attributes are projected"
            );
            pending.push(contact.clone());
        }
    }
    assert_eq!(pending, [open.to_string()]);
}

#[tokio::test]
async fn a_poller_reading_during_done_never_sees_done_without_its_output() {
    let table = TestTable::new().await;
    let store = table.store();
    let mut saw_open_first = 0;
    for i in 0..150 {
        let contact = new_contact();
        let run = store.start(&contact, echo_start()).await.unwrap();
        let writer = {
            let (store, contact) = (store.clone(), contact.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(200 * (i % 10))).await;
                let output = [
                    ItemChange::put("EchoResult", format!("result {i}")),
                    ItemChange::put("Other", "x"),
                ];
                store.done(&contact, Some(&run.id), &output).await.unwrap()
            })
        };
        // The poller's protocol: the status item first; the whole state once it is final.
        let mut polls = 0;
        loop {
            polls += 1;
            let status = store.status(&contact).await.unwrap().unwrap().status;
            if status == IntegrationStatus::Done {
                let state = store.load_state(&contact).await.unwrap();
                assert_eq!(
                    state.get_str("EchoResult"),
                    Some(format!("result {i}").as_str()),
                    "iteration {i}"
                );
                assert_eq!(state.get_str("Other"), Some("x"), "iteration {i}");
                assert!(state.get_str(INTEGRATION_END).is_some(), "iteration {i}");
                break;
            }
            assert_eq!(status, IntegrationStatus::Start, "iteration {i}");
        }
        if polls > 1 {
            saw_open_first += 1;
        }
        assert_eq!(writer.await.unwrap(), Transition::Applied);
    }
    // Otherwise the reads never overlapped the writes and the test proved nothing.
    assert!(
        saw_open_first > 10,
        "only {saw_open_first} of 150 polls overlapped a DONE write"
    );
}

#[tokio::test]
async fn dotted_output_keys_are_written_into_existing_and_new_json() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    store
        .write(
            &contact,
            &[ItemChange::put(
                "customer",
                r#"{"name":"Ada","tier":"gold"}"#,
            )],
        )
        .await
        .unwrap();
    let run = store.start(&contact, echo_start()).await.unwrap();

    let mut state = store.load_state(&contact).await.unwrap();
    let into_existing = state
        .set("customer.echoResult", json!(r#"{"ok":true}"#))
        .unwrap();
    let into_new = state.set("orders.0.id", json!("A-7")).unwrap();
    store
        .done(&contact, Some(&run.id), &[into_existing, into_new])
        .await
        .unwrap();

    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(
        state.get("customer"),
        Some(&json!({"name": "Ada", "tier": "gold", "echoResult": {"ok": true}}))
    );
    assert_eq!(state.get("orders"), Some(&json!([{"id": "A-7"}])));
}

#[tokio::test]
async fn a_contact_state_over_one_megabyte_is_read_completely() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    // 30 items of 40 KB: 1.2 MB, more than one Query page (1 MB).
    for batch in 0..3 {
        let changes: Vec<_> = (0..10)
            .map(|i| ItemChange::put(format!("Blob{:02}", batch * 10 + i), "x".repeat(40 * 1024)))
            .collect();
        store.write(&contact, &changes).await.unwrap();
    }

    let first_page = table
        .client
        .query()
        .table_name(&table.name)
        .key_condition_expression("ContactId = :c")
        .expression_attribute_values(":c", AttributeValue::S(contact.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(
        first_page.last_evaluated_key().is_some(),
        "the state must span more than one page"
    );

    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.values().len(), 30);
    assert!(state
        .values()
        .values()
        .all(|v| v.as_str().map(str::len) == Some(40 * 1024)));
}

#[tokio::test]
async fn every_item_written_carries_an_expiry_four_hours_ahead() {
    let table = TestTable::new().await;
    let (store, clock) = table.store_with_manual_clock();
    let contact = new_contact();
    let expected = clock_ms(&clock) / 1000 + STATE_TTL.as_secs() as i64;

    store
        .write(&contact, &[ItemChange::put("Name", "Ada")])
        .await
        .unwrap();
    let run = store.start(&contact, echo_start()).await.unwrap();
    store.run(&contact, Some(&run.id)).await.unwrap();
    store
        .error(
            &contact,
            Some(&run.id),
            "boom",
            &[ItemChange::put("Partial", "p")],
        )
        .await
        .unwrap();

    let items = table.raw_items(&contact).await;
    let names: Vec<_> = items
        .iter()
        .map(|i| i["What"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(
        names,
        [
            "IntegrationEnd",
            "IntegrationErrorCause",
            "IntegrationStart",
            "IntegrationStatus",
            "Name",
            "Partial"
        ]
    );
    for item in &items {
        let expiry: i64 = item["Expiry"]
            .as_n()
            .expect("Expiry is a number")
            .parse()
            .unwrap();
        assert_eq!(expiry, expected, "Expiry of {:?}", item["What"]);
    }
}

#[tokio::test]
async fn an_unknown_status_in_a_stored_item_gives_a_clear_error() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    put_raw(&table, &contact, "IntegrationStatus", "FINISHED").await;

    let load = store.load_state(&contact).await.unwrap_err();
    let poll = store.status(&contact).await.unwrap_err();

    for err in [load, poll] {
        assert!(matches!(err, StoreError::Malformed { .. }));
        let message = report(&err);
        assert!(message.contains("\"IntegrationStatus\""), "{message}");
        assert!(
            message.contains("unknown integration status \"FINISHED\""),
            "{message}"
        );
    }
}

#[tokio::test]
async fn an_item_without_a_string_value_gives_a_clear_error() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    table
        .client
        .put_item()
        .table_name(&table.name)
        .item("ContactId", AttributeValue::S(contact.to_string()))
        .item("What", AttributeValue::S("Broken".into()))
        .send()
        .await
        .unwrap();

    let err = store.load_state(&contact).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("state item \"Broken\" of contact {contact} is malformed: it has no Value")
    );
}

#[tokio::test]
async fn a_malformed_item_is_named_without_quoting_its_values() {
    let table = TestTable::new().await;
    let store = table.store();
    let phone = "15555550123";
    // A value of the wrong type, on a plain item and on the status item.
    let plain = new_contact();
    let wrong = [("Value", AttributeValue::N(phone.into()))];
    put_raw_with(&table, &plain, "Phone", "START", wrong).await;
    let status = new_contact();
    let wrong = [("StartedAt", AttributeValue::S(format!("+{phone}")))];
    put_raw_with(&table, &status, "IntegrationStatus", "START", wrong).await;

    for contact in [plain, status] {
        let err = store.load_state(&contact).await.unwrap_err();
        let text = report(&err);
        assert!(text.contains("is malformed"), "{text}");
        assert!(!text.contains(phone), "{text}");
    }
}

#[tokio::test]
async fn the_status_item_cannot_be_written_as_a_plain_key() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let err = store
        .write(&contact, &[ItemChange::put("IntegrationStatus", "DONE")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReservedKey { .. }));
    assert_eq!(store.status(&contact).await.unwrap(), None);
}

#[tokio::test]
async fn a_missing_table_is_an_error_that_is_not_worth_retrying() {
    let client = kit::local_client().await;
    let store = shared::Store::new(client, "no-such-table", Arc::new(SystemClock));
    let err = store.load_state(&new_contact()).await.unwrap_err();
    assert!(!err.is_retryable(), "{}", report(&err));
}

#[tokio::test]
async fn an_item_dynamodb_refuses_as_invalid_is_an_error_that_is_not_worth_retrying() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let too_big = "x".repeat(401 * 1024);
    let err = store
        .write(&contact, &[ItemChange::put("Notes", too_big)])
        .await
        .unwrap_err();
    assert!(err.is_refused_as_invalid(), "{}", report(&err));
    assert!(!err.is_retryable(), "{}", report(&err));
    assert!(store
        .load_state(&contact)
        .await
        .unwrap()
        .values()
        .is_empty());
}

#[tokio::test]
async fn a_finish_whose_changes_dynamodb_cannot_hold_writes_nothing() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();
    store.run(&contact, Some(&run.id)).await.unwrap();
    let too_big = ItemChange::put("EchoResult", "x".repeat(401 * 1024));

    let err = store
        .done(&contact, Some(&run.id), &[too_big])
        .await
        .unwrap_err();

    assert!(err.is_refused_as_invalid(), "{}", report(&err));
    // All or nothing: the run is still open, with nothing of its end written.
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Run));
    assert_eq!(state.get("EchoResult"), None);
    assert_eq!(state.get(INTEGRATION_END), None);
    // And it can still be ended.
    let ended = store
        .error(&contact, Some(&run.id), "output too large", &[])
        .await
        .unwrap();
    assert_eq!(ended, Transition::Applied);
}

#[tokio::test]
async fn error_with_a_cause_too_long_to_store_still_ends_the_run() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let run = store.start(&contact, echo_start()).await.unwrap();
    let cause = "é".repeat(300 * 1024);

    let ended = store
        .error(&contact, Some(&run.id), &cause, &[])
        .await
        .unwrap();

    assert_eq!(ended, Transition::Applied);
    let state = store.load_state(&contact).await.unwrap();
    assert_eq!(state.integration_status(), Some(IntegrationStatus::Error));
    let stored = state.get_str(INTEGRATION_ERROR_CAUSE).unwrap();
    assert_eq!(stored.len(), shared::integration::MAX_CAUSE_BYTES);
    assert!(cause.starts_with(stored));
}

#[tokio::test]
async fn state_loaded_round_trips_what_set_wrote() {
    let table = TestTable::new().await;
    let store = table.store();
    let contact = new_contact();
    let mut state = ContactState::default();
    let changes = vec![
        state.set("a", json!("1")).unwrap(),
        state.set("b.c", json!([1, 2])).unwrap(),
    ];
    store.write(&contact, &changes).await.unwrap();
    assert_eq!(
        store.load_state(&contact).await.unwrap().values(),
        state.values()
    );
}

async fn put_raw(table: &TestTable, contact: &shared::ContactId, what: &str, value: &str) {
    put_raw_with(table, contact, what, value, []).await;
}

/// Puts an item as DynamoDB takes it, past the store's checks; `extra`
/// attributes are set last, so they may replace the others.
async fn put_raw_with<const N: usize>(
    table: &TestTable,
    contact: &shared::ContactId,
    what: &str,
    value: &str,
    extra: [(&str, AttributeValue); N],
) {
    let mut put = table
        .client
        .put_item()
        .table_name(&table.name)
        .item("ContactId", AttributeValue::S(contact.to_string()))
        .item("What", AttributeValue::S(what.into()))
        .item("Value", AttributeValue::S(value.into()));
    for (name, value) in extra {
        put = put.item(name, value);
    }
    put.send().await.unwrap();
}

#[tokio::test]
async fn done_racing_timeout_on_one_run_has_exactly_one_winner() {
    let table = TestTable::new().await;
    let store = table.store();
    let (mut done_won, mut timeout_won) = (0, 0);
    for i in 0..60 {
        let contact = new_contact();
        let run = store.start(&contact, echo_start()).await.unwrap();
        let done = {
            let (store, contact, run) = (store.clone(), contact.clone(), run.id.clone());
            tokio::spawn(async move {
                store
                    .done(&contact, Some(&run), &[ItemChange::put("EchoResult", "r")])
                    .await
            })
        };
        let timeout = {
            let (store, contact, run) = (store.clone(), contact.clone(), run.id.clone());
            tokio::spawn(async move { store.timeout(&contact, Some(&run)).await })
        };
        let (done, timeout) = (
            done.await.unwrap().unwrap(),
            timeout.await.unwrap().unwrap(),
        );

        let state = store.load_state(&contact).await.unwrap();
        match (done, timeout) {
            (Transition::Applied, Transition::Refused(refusal)) => {
                done_won += 1;
                assert_eq!(
                    refusal,
                    Refusal::AlreadyFinished {
                        status: IntegrationStatus::Done
                    },
                    "race {i}"
                );
                assert_eq!(state.integration_status(), Some(IntegrationStatus::Done));
                assert_eq!(state.get_str("EchoResult"), Some("r"));
                assert_eq!(state.get(INTEGRATION_ERROR_CAUSE), None);
            }
            (Transition::Refused(refusal), Transition::Applied) => {
                timeout_won += 1;
                assert_eq!(
                    refusal,
                    Refusal::AlreadyFinished {
                        status: IntegrationStatus::Timeout
                    },
                    "race {i}"
                );
                assert_eq!(state.integration_status(), Some(IntegrationStatus::Timeout));
                assert_eq!(state.get("EchoResult"), None, "no output without DONE");
                assert_eq!(state.get_str(INTEGRATION_ERROR_CAUSE), Some(TIMEOUT_CAUSE));
            }
            other => panic!("race {i}: expected exactly one winner, got {other:?}"),
        }
    }
    eprintln!("done won {done_won}, timeout won {timeout_won} of 60 races");
}
