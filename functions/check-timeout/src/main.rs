//! check-timeout on Lambda: configuration and the client once, then the handler.

use std::sync::Arc;

use check_timeout::{handle, Deps};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::{
    connect::Instance, store::dynamodb_client, waiting::WaitConfig, Config, Store, SystemClock,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    let wait = WaitConfig::from_env()?;
    let store = Store::new(
        dynamodb_client(&config).await,
        &config.state_table,
        Arc::new(SystemClock),
    );
    let deps = Deps {
        store,
        wait,
        instance: Instance::new(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deps = &deps;
        async move { Ok::<_, Error>(handle(event.payload, deps).await) }
    }))
    .await
}
