//! The stream consumer's Lambda function: stream batches and scheduled events.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::{store::dynamodb_client, Config, Store, SystemClock};
use stream_consumer::{Consumer, ConsumerConfig, StdoutSink};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let consumer_config = ConsumerConfig::from_env()?;
    let client = dynamodb_client(&config).await;
    let store = Store::new(client, config.state_table, Arc::new(SystemClock));
    let consumer = Consumer::new(store, consumer_config, Arc::new(StdoutSink));
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        // Boxed: the handler's future is deep, and boxing keeps `main`'s small.
        let handled = Box::pin(consumer.handle(event.payload));
        async move { handled.await.map_err(Error::from) }
    }))
    .await
}
