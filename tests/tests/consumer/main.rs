//! The stream consumer on DynamoDB Local: the fixtures, deliveries and replays,
//! failures, the abandoned-run sweep, and end to end through the stream poller;
//! and the local dashboard drawn from the consumer's metrics, in headless Chromium.

mod dashboard;
mod decisions;
mod failures;
mod fixtures;
mod iam;
mod legacy;
mod poller;
mod support;
mod sweep;
