//! The original Rules Engine's echo integration function (IntegrationEcho.js)
//! on Lambda, as [`kit::legacy::echo`] plays it: the local stack runs it beside
//! the workspace's functions, so that the demo meets a writer that knows
//! nothing of runs.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = Config::from_env()?;
    // The SDK's own defaults, not the workspace's bounded timeouts: the
    // original's writes wait and retry as its SDK does, however slow the store.
    // Built once per execution environment, lent to every invocation.
    let client = aws_sdk_dynamodb::Client::new(&kit::aws::sdk_config().await);
    let table = config.state_table.as_str();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let client = &client;
        async move { Ok::<_, Error>(kit::legacy::echo(client, table, event.payload).await) }
    }))
    .await
}
