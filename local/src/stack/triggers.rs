//! What sets the consumer off on the local stack: the stream poller standing
//! in for the event source mapping, and the schedule.

use std::time::Duration;

use kit::stream::{event::scheduled_event, target::LambdaFunction, Poller, PollerConfig};

use super::{invoke, BoxError};

/// The event source mapping: the table's stream polled for the consumer.
pub(super) async fn start_poller(
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: &str,
    lambda: &aws_sdk_lambda::Client,
) -> Result<tokio::task::JoinHandle<()>, BoxError> {
    let target = LambdaFunction {
        client: lambda.clone(),
        function_name: "stream-consumer".into(),
    };
    let mut poller = Poller::for_table(
        dynamodb,
        streams,
        table,
        stream_consumer::FILTER_PATTERN,
        target,
        PollerConfig {
            // The template's mapping: 10 retries (its backoff is Lambda's own).
            max_attempts: 11,
            ..PollerConfig::default()
        },
    )
    .await?;
    Ok(tokio::spawn(async move {
        loop {
            if let Err(err) = poller.poll_once().await {
                tracing::warn!(error = %shared::telemetry::error_chain(&err), "stream poll failed");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }))
}

/// The consumer's schedule, every `every` (the template's is one minute).
pub(super) fn start_schedule(
    lambda: aws_sdk_lambda::Client,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let _ = invoke(
                &lambda,
                "stream-consumer",
                &scheduled_event(chrono::Utc::now(), "us-east-1"),
            )
            .await;
        }
    })
}
