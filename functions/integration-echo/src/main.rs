//! The echo integration function on Lambda. Copy this file to write your own:
//! only the work passed to `handle` (here [`integration_echo::echo`]) changes.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error};
use shared::{
    integration::{self, Deps, Settings},
    store::dynamodb_client,
    Config, Store, SystemClock,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    // Built once per execution environment, lent to every invocation.
    let client = dynamodb_client(&config).await;
    let store = Store::new(client, &config.state_table, Arc::new(SystemClock));
    let deps = Deps::new(store, Settings::from_env()?);
    lambda_runtime::run(service_fn(|event| {
        integration::handle(event, &deps, integration_echo::echo)
    }))
    .await
}
