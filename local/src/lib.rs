//! Local tooling around the functions, speaking the real AWS wire protocols:
//!
//! - [`poller`]: the stand-in for Lambda's event source mapping on the state
//!   table's stream, with [`filter`] (the subset of Lambda's event filtering it
//!   needs), [`stream_event`] (records in the shape Lambda delivers) and
//!   [`target`] (the consumer in-process, or a Lambda function).
//! - [`replay`]: feeds saved stream events to the consumer and says what it did.
//! - [`bench`]: measures the consumer's throughput against DynamoDB Local, on
//!   records from [`synthetic`].
//! - [`lambda`]: the local stack's Lambda: an Invoke API server, the front
//!   every invocation goes through, and pools of the functions' processes
//!   behind a Runtime API, scaled, throttled and queued as Lambda does.
//! - [`stack`]: the local stack: the functions in those pools (or under `cargo
//!   lambda watch`, for the edit-and-reload loop), the poller and the schedule.
//! - [`load`]: how busy the machine is while a run plays, to tell an
//!   overloaded machine from functions that break Connect's limit.
//! - [`simulator`]: Connect's stand-in, playing the contact [`flow`] of `infra/`;
//!   [`demo`]: the main job, its scenarios, mixed run, summary and invariants;
//!   [`faults`]: a store outage and refused invocations, injected into a run.

pub mod bench;
pub mod demo;
pub mod faults;
pub mod filter;
pub mod flow;
pub mod lambda;
pub mod load;
pub mod poller;
pub mod replay;
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
