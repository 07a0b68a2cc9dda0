//! Errors of the store: items it cannot read, named without quoting their
//! values, writes it or DynamoDB refuses, and which errors are worth a retry.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use kit::{new_contact, report};
use shared::{
    store::INTEGRATION_END, IntegrationStatus, ItemChange, StoreError, SystemClock, Transition,
};

use crate::support::{fresh, put_attributes, put_raw, put_raw_with, running, state_of};

#[tokio::test]
async fn an_unknown_status_in_a_stored_item_gives_a_clear_error() {
    let (table, store, contact) = fresh().await;
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
    let (table, store, contact) = fresh().await;
    put_attributes(
        &table,
        &contact,
        [("What", AttributeValue::S("Broken".into()))],
    )
    .await;

    let err = store.load_state(&contact).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("state item \"Broken\" of contact {contact} is malformed: it has no Value")
    );
}

#[tokio::test]
async fn a_malformed_item_is_named_without_quoting_its_values() {
    let (table, store, _) = fresh().await;
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
    let (_, store, contact) = fresh().await;
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
    let (_, store, contact) = fresh().await;
    let too_big = "x".repeat(401 * 1024);
    let err = store
        .write(&contact, &[ItemChange::put("Notes", too_big)])
        .await
        .unwrap_err();
    assert!(err.is_refused_as_invalid(), "{}", report(&err));
    assert!(!err.is_retryable(), "{}", report(&err));
    assert!(state_of(&store, &contact).await.values().is_empty());
}

#[tokio::test]
async fn a_finish_whose_changes_dynamodb_cannot_hold_writes_nothing() {
    let (_, store, contact) = fresh().await;
    let run = running(&store, &contact).await;
    let too_big = ItemChange::put("EchoResult", "x".repeat(401 * 1024));

    let err = store
        .done(&contact, Some(&run.id), &[too_big])
        .await
        .unwrap_err();

    assert!(err.is_refused_as_invalid(), "{}", report(&err));
    // All or nothing: the run is still open, with nothing of its end written.
    let state = state_of(&store, &contact).await;
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
