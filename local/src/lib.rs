//! Local tooling around the functions, speaking the real AWS wire protocols:
//!
//! - [`poller`]: the stand-in for Lambda's event source mapping on the state
//!   table's stream, with [`filter`] (the subset of Lambda's event filtering it
//!   needs), [`stream_event`] (records in the shape Lambda delivers) and
//!   [`target`] (the consumer in-process, or a Lambda function).
//! - [`replay`]: feeds saved stream events to the consumer and says what it did.
//! - [`bench`]: measures the consumer's throughput against DynamoDB Local, on
//!   records from [`synthetic`].
//! - [`stack`]: the local stack: the functions under `cargo lambda watch` (or
//!   [`runtime`], pools of their processes for larger runs), the
//!   [`front`] that answers `Event` invocations as Lambda does (over
//!   [`invoke_api`], a Lambda Invoke API server), the poller and the schedule.
//! - [`simulator`]: Connect's stand-in, playing the contact [`flow`] of `infra/`;
//!   [`demo`]: the main job, its scenarios, mixed run, summary and invariants;
//!   [`faults`]: a store outage and refused invocations, injected into a run.

pub mod bench;
pub mod demo;
pub mod faults;
pub mod filter;
pub mod flow;
pub mod front;
pub mod invoke_api;
pub mod poller;
pub mod replay;
pub mod runtime;
pub mod simulator;
pub mod stack;
pub mod stream_event;
pub mod synthetic;
pub mod target;

/// The SDK's configuration from the environment; DynamoDB Local takes any
/// credentials, so stand-ins are used when none are set.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "local-stack",
        ));
    }
    loader.load().await
}
