//! The run's output and cause as they are written: the output key checked
//! before any work, an output DynamoDB cannot hold turned into `ERROR`, and
//! causes kept to a readable size.

use serde_json::Value;

use super::{MAX_CAUSE_BYTES, OUTPUT_KEY};
use crate::{
    store::{
        limits::{cut_to, value_bytes, MAX_ITEM_BYTES},
        INTEGRATION_END, INTEGRATION_ERROR_CAUSE, INTEGRATION_START, INTEGRATION_STATUS,
    },
    ContactId, ContactState, ItemChange, RunId, Store, StoreError, Transition,
};

/// Writes `DONE` with the output, or comes back with the cause when DynamoDB
/// cannot hold the output, so the run ends `ERROR` instead of half-written.
pub(crate) async fn write_output(
    store: &Store,
    contact: &ContactId,
    run: Option<&RunId>,
    change: ItemChange,
) -> Result<Result<Transition, String>, StoreError> {
    let bytes = value_bytes(&change);
    if bytes > MAX_ITEM_BYTES {
        return Ok(Err(too_large(bytes)));
    }
    match store.done(contact, run, &[change]).await {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(err) if err.is_refused_as_invalid() => {
            tracing::warn!(error = %err, "DynamoDB refused the output; recording ERROR");
            Ok(Err(too_large(bytes)))
        }
        Err(err) => Err(err),
    }
}

fn too_large(bytes: usize) -> String {
    format!(
        "output too large: {bytes} bytes to store, and a DynamoDB item holds at most {MAX_ITEM_BYTES}"
    )
}

/// The output key, checked before any work; or the cause that fails the run when
/// the key is missing, malformed or one the run transitions own.
pub(crate) fn checked_output_key(key: Option<&str>) -> Result<String, String> {
    let key = key
        .filter(|key| !key.is_empty())
        .ok_or_else(|| format!("{OUTPUT_KEY} is not set in the contact's state"))?;
    let top = key.split('.').next().unwrap_or(key);
    if [
        INTEGRATION_STATUS,
        INTEGRATION_START,
        INTEGRATION_END,
        INTEGRATION_ERROR_CAUSE,
    ]
    .contains(&top)
    {
        return Err(format!(
            "{OUTPUT_KEY} names {top}, which only the run transitions write"
        ));
    }
    // `set` checks a key before it changes anything, so an empty state is
    // enough to check it, without copying the contact's.
    ContactState::default()
        .set(key, Value::Null)
        .map_err(|err| format!("{OUTPUT_KEY} is not a valid state key: {err}"))?;
    Ok(key.to_owned())
}

/// The change that writes `output` to `key` in `state`, or the cause that fails
/// the run when the state cannot hold it (JSON nested past what reads back).
/// `state` itself is left as it is: if the write fails, the output's removal is
/// worked out from the state as it was, with no trace of the output's path.
pub(crate) fn output_change(
    state: &ContactState,
    key: &str,
    output: String,
) -> Result<ItemChange, String> {
    state
        .clone()
        .set(key, Value::String(output))
        .map_err(|err| format!("output not stored: {err}"))
}

/// The change that removes `key` from `state`.
pub(crate) fn output_removal(state: &mut ContactState, key: &str) -> ItemChange {
    state
        .set(key, Value::Null)
        // Removing only checks the key, and the key was checked before the work.
        .expect("the output key was checked before the work")
}

/// Cuts a cause to [`MAX_CAUSE_BYTES`], on a character boundary; an empty cause
/// would read as no cause at all, so it is named.
pub(crate) fn cut(cause: &str) -> String {
    if cause.trim().is_empty() {
        return "the integration function failed without giving a cause".to_owned();
    }
    cut_to(cause, MAX_CAUSE_BYTES).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_keys_are_required_valid_and_not_the_run_s_own() {
        assert_eq!(
            checked_output_key(Some("customer.echo")),
            Ok("customer.echo".to_owned())
        );
        assert!(checked_output_key(None).unwrap_err().contains("is not set"));
        assert!(checked_output_key(Some("a..b"))
            .unwrap_err()
            .contains("not a valid state key"));
        assert!(checked_output_key(Some("IntegrationStatus.x"))
            .unwrap_err()
            .contains("only the run transitions write"));
    }

    #[test]
    fn removing_a_dotted_output_key_keeps_the_rest_of_its_item() {
        let mut state = ContactState::new(
            [("customer".to_owned(), json!({"id": 1, "echo": "x"}))]
                .into_iter()
                .collect(),
            None,
        );
        let removal = output_removal(&mut state, "customer.echo");
        assert_eq!(removal, ItemChange::put("customer", r#"{"id":1}"#));
    }

    #[test]
    fn an_output_nesting_past_what_reads_back_is_a_cause_not_a_panic() {
        let state = ContactState::default();
        let key = checked_output_key(Some("a.b.c")).unwrap();
        let deep = format!("{}{}", "[".repeat(126), "]".repeat(126));
        let cause = output_change(&state, &key, deep).unwrap_err();
        assert!(cause.starts_with("output not stored: "), "{cause}");
        assert!(cause.contains("nest 128 levels"), "{cause}");
        assert_eq!(state.get("a"), None, "nothing changed");
    }

    #[test]
    fn the_output_s_change_leaves_the_state_as_it_was() {
        let state = ContactState::new(
            [("customer".to_owned(), json!({"id": 1}))]
                .into_iter()
                .collect(),
            None,
        );
        let change = output_change(&state, "customer.orders.3.id", "x".into()).unwrap();
        assert_eq!(
            change,
            ItemChange::put(
                "customer",
                r#"{"id":1,"orders":[null,null,null,{"id":"x"}]}"#
            )
        );
        // Were the write refused, the removal is of nothing the output added.
        let mut state = state;
        let removal = output_removal(&mut state, "customer.orders.3.id");
        assert_eq!(removal, ItemChange::put("customer", r#"{"id":1}"#));
    }

    #[test]
    fn long_causes_are_cut_on_a_character_boundary() {
        let cause = "é".repeat(MAX_CAUSE_BYTES);
        let cut = cut(&cause);
        assert!(cut.len() <= MAX_CAUSE_BYTES && cut.len() >= MAX_CAUSE_BYTES - 1);
        assert_eq!(super::cut("short"), "short");
        assert!(super::cut(" ").contains("without giving a cause"));
    }
}
