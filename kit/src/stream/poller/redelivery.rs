//! Delivering a batch as an event source mapping does, honouring the partial
//! batch response: everything before the failed record is checkpointed, the
//! rest delivered again, a bounded number of times.

use serde_json::Value;

use super::{PollReport, Poller};
use crate::stream::{event::lambda_event, target::ConsumerTarget};

impl<T: ConsumerTarget> Poller<T> {
    /// Delivers a batch; after a failure, again from the failed record on.
    pub(super) async fn deliver(&self, mut batch: Vec<Value>, report: &mut PollReport) {
        for attempt in 1..=self.config.max_attempts {
            report.invocations += 1;
            let failed_from = match self.target.invoke(lambda_event(batch.clone())).await {
                Ok(answer) => first_failure(&answer, &batch),
                Err(err) => {
                    tracing::warn!(error = %err, attempt, "CONSUMER_INVOCATION_FAILED");
                    Some(0)
                }
            };
            let Some(from) = failed_from else { return };
            // Lambda checkpoints everything before the failed record.
            batch.drain(..from);
            if attempt < self.config.max_attempts {
                report.redeliveries += 1;
                tokio::time::sleep(self.config.retry_delay * attempt).await;
            }
        }
        tracing::warn!(records = batch.len(), "BATCH_SKIPPED_AFTER_RETRIES");
        report.skipped += batch.len();
    }
}

/// The index of the first failed record, as Lambda reads the partial batch
/// response: the earliest listed record; an identifier not in the batch (or an
/// answer that is not a batch response) fails the whole batch.
fn first_failure(answer: &Value, batch: &[Value]) -> Option<usize> {
    let failures = match answer.get("batchItemFailures") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(failures)) => failures,
        Some(_) => return Some(0),
    };
    failures
        .iter()
        .map(|failure| {
            let id = failure["itemIdentifier"].as_str().unwrap_or_default();
            batch
                .iter()
                .position(|record| record["dynamodb"]["SequenceNumber"].as_str() == Some(id))
                .unwrap_or(0)
        })
        .min()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::first_failure;

    fn batch() -> Vec<serde_json::Value> {
        ["1", "2", "3"]
            .iter()
            .map(|seq| json!({"dynamodb": {"SequenceNumber": seq}}))
            .collect()
    }

    #[test]
    fn the_earliest_failed_record_is_where_delivery_starts_again() {
        let answer =
            json!({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]});
        assert_eq!(first_failure(&answer, &batch()), Some(1));
        assert_eq!(
            first_failure(&json!({"batchItemFailures": []}), &batch()),
            None
        );
        assert_eq!(first_failure(&json!({}), &batch()), None);
    }

    #[test]
    fn an_identifier_not_in_the_batch_fails_the_whole_batch() {
        let answer = json!({"batchItemFailures": [{"itemIdentifier": "9"}]});
        assert_eq!(first_failure(&answer, &batch()), Some(0));
        assert_eq!(
            first_failure(&json!({"batchItemFailures": "x"}), &batch()),
            Some(0)
        );
    }
}
