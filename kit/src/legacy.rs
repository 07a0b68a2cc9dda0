//! The original Rules Engine (Node.js) as a neighbour in a mixed installation:
//! its one state-writing helper ([`write_state`]), its sample integration
//! function ([`echo`], IntegrationEcho.js) and its start ([`start`]), for the
//! tests and the demo.
//!
//! This deliberately bypasses `shared`'s store: it plays writers that know
//! nothing of run attributes or conditions, so that what this project does
//! about them (the stream consumer's repairs) meets the real thing rather than
//! a gentler stand-in. Items are built by hand, attribute by attribute, for the
//! same reason: that is exactly what the original sends.

use std::time::Duration;

use aws_sdk_dynamodb::{
    types::{error::ProvisionedThroughputExceededException, AttributeValue, WriteRequest},
    Client,
};
use shared::{
    table::{CONTACT_ID, EXPIRY, VALUE, WHAT},
    ContactId,
};

mod echo;
mod start;
#[cfg(test)]
mod tests;

pub use echo::echo;
pub use start::{start, StartError};

/// The original's TTL: every write sets `Expiry` to now plus four hours.
pub const EXPIRY_AFTER: Duration = Duration::from_secs(4 * 60 * 60);

/// The most writes DynamoDB takes in one BatchWriteItem; the original splits
/// longer lists into batches of this many (none of its integration writes is).
const MAX_BATCH: usize = 25;

/// Attempts of one batch while DynamoDB hands back unprocessed writes.
const ATTEMPTS: u32 = 5;

/// Writes `changes` to a contact's state as the original's one helper
/// (`persistCustomerState`) does: one BatchWriteItem, with for each key a
/// PutRequest of the **whole item** `{ContactId, What, Value, Expiry}` (no
/// other attribute survives it), or a DeleteRequest when the value is `None`
/// or empty. No conditions. Values are text: the caller JSON-stringifies an
/// object, as the original does.
///
/// One difference: the original resends `UnprocessedItems` at once and
/// forever; this resends them a few times with a growing pause, as the SDK
/// guide asks, then gives up with a throughput error.
pub async fn write_state(
    client: &Client,
    table: &str,
    contact: &ContactId,
    changes: &[(&str, Option<String>)],
) -> Result<(), aws_sdk_dynamodb::Error> {
    let expiry = chrono::Utc::now().timestamp() + EXPIRY_AFTER.as_secs() as i64;
    let requests = write_requests(contact, changes, expiry);
    for batch in requests.chunks(MAX_BATCH) {
        write_batch(client, table, batch.to_vec()).await?;
    }
    Ok(())
}

/// One BatchWriteItem, and its unprocessed writes again, a few times.
async fn write_batch(
    client: &Client,
    table: &str,
    mut batch: Vec<WriteRequest>,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let mut pause = Duration::from_millis(50);
    for attempt in 1..=ATTEMPTS {
        let output = client
            .batch_write_item()
            .request_items(table, batch)
            .send()
            .await?;
        batch = output
            .unprocessed_items
            .and_then(|mut left| left.remove(table))
            .unwrap_or_default();
        if batch.is_empty() {
            return Ok(());
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    let message = format!(
        "{} writes still unprocessed after {ATTEMPTS} attempts",
        batch.len()
    );
    Err(
        aws_sdk_dynamodb::Error::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .message(message)
                .build(),
        ),
    )
}

/// The write requests [`write_state`] sends, with `Expiry` at `expiry`
/// (epoch seconds): a put of the whole item for a value, a delete for `None`
/// or `""` (the original's `undefined`, `null` and `''`).
pub fn write_requests(
    contact: &ContactId,
    changes: &[(&str, Option<String>)],
    expiry: i64,
) -> Vec<WriteRequest> {
    let s = |text: &str| AttributeValue::S(text.to_owned());
    changes
        .iter()
        .map(|(what, value)| match value.as_deref() {
            None | Some("") => WriteRequest::builder()
                .delete_request(
                    aws_sdk_dynamodb::types::DeleteRequest::builder()
                        .key(CONTACT_ID, s(contact.as_str()))
                        .key(WHAT, s(what))
                        .build()
                        .expect("the key is set"),
                )
                .build(),
            Some(value) => WriteRequest::builder()
                .put_request(
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .item(CONTACT_ID, s(contact.as_str()))
                        .item(WHAT, s(what))
                        .item(VALUE, s(value))
                        .item(EXPIRY, AttributeValue::N(expiry.to_string()))
                        .build()
                        .expect("the item is set"),
                )
                .build(),
        })
        .collect()
}
