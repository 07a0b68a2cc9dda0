//! integration-start on Lambda: configuration and clients once, then the handler.

use std::sync::Arc;

use integration_start::{handle, Deps, StartConfig};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::{connect::Instance, store::dynamodb_client, Store, SystemClock};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = StartConfig::from_env()?;
    let store = Store::new(
        dynamodb_client(&config.store).await,
        &config.store.state_table,
        Arc::new(SystemClock),
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(config.lambda_timeouts())
        .load()
        .await;
    let deps = Deps {
        store,
        lambda: aws_sdk_lambda::Client::new(&sdk),
        config,
        instance: Instance::new(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deps = &deps;
        async move {
            Ok::<_, Error>(
                handle(
                    event.payload,
                    Some(&event.context.invoked_function_arn),
                    deps,
                )
                .await,
            )
        }
    }))
    .await
}
