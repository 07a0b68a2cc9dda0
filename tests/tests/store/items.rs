//! The items a contact's state is stored as: the pending-runs index, dotted
//! keys written into JSON, states larger than a Query page, and the expiry
//! every item carries.

use aws_sdk_dynamodb::types::AttributeValue;
use kit::{new_contact, TestTable};
use serde_json::json;
use shared::{store::STATE_TTL, table, ContactState, ItemChange};

use crate::support::{clock_ms, fresh, open_run, running, state_of};

#[tokio::test]
async fn open_runs_are_in_the_pending_index_and_finished_runs_leave_it() {
    let table = TestTable::new().await;
    let store = table.store();
    let (open, finished) = (new_contact(), new_contact());
    open_run(&store, &open).await;
    let run = open_run(&store, &finished).await;
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
async fn dotted_output_keys_are_written_into_existing_and_new_json() {
    let (_, store, contact) = fresh().await;
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
    let run = open_run(&store, &contact).await;

    let mut state = state_of(&store, &contact).await;
    let into_existing = state
        .set("customer.echoResult", json!(r#"{"ok":true}"#))
        .unwrap();
    let into_new = state.set("orders.0.id", json!("A-7")).unwrap();
    store
        .done(&contact, Some(&run.id), &[into_existing, into_new])
        .await
        .unwrap();

    let state = state_of(&store, &contact).await;
    assert_eq!(
        state.get("customer"),
        Some(&json!({"name": "Ada", "tier": "gold", "echoResult": {"ok": true}}))
    );
    assert_eq!(state.get("orders"), Some(&json!([{"id": "A-7"}])));
}

#[tokio::test]
async fn a_contact_state_over_one_megabyte_is_read_completely() {
    let (table, store, contact) = fresh().await;
    // 30 items of 40 KB: 1.2 MB, more than one Query page (1 MB).
    for batch in 0..3 {
        let changes: Vec<_> = (0..10)
            .map(|i| ItemChange::put(format!("Blob{:02}", batch * 10 + i), "x".repeat(40 * 1024)))
            .collect();
        store.write(&contact, &changes).await.unwrap();
    }

    let first_page = kit::aws::contact_query(&table.client, &table.name, contact.as_str())
        .send()
        .await
        .unwrap();
    assert!(
        first_page.last_evaluated_key().is_some(),
        "the state must span more than one page"
    );

    let state = state_of(&store, &contact).await;
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
    let run = running(&store, &contact).await;
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
async fn state_loaded_round_trips_what_set_wrote() {
    let (_, store, contact) = fresh().await;
    let mut state = ContactState::default();
    let changes = vec![
        state.set("a", json!("1")).unwrap(),
        state.set("b.c", json!([1, 2])).unwrap(),
    ];
    store.write(&contact, &changes).await.unwrap();
    assert_eq!(state_of(&store, &contact).await.values(), state.values());
}
