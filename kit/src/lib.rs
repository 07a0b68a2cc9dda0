//! What the tests, the benchmark and the local stack share: the stand-ins for
//! the AWS services around the functions, speaking their real wire protocols on
//! 127.0.0.1, and the kit the tests are written with.
//!
//! - [`lambda`]: Lambda. An Invoke API server ([`lambda::invoke_api`]), pools of
//!   the functions' processes behind a Runtime API, scaled, throttled and queued
//!   as Lambda does ([`lambda::Functions`]), and a recording stand-in for an
//!   integration function ([`lambda::fake`]).
//! - [`stream`]: Lambda's event source mapping on the state table's stream: the
//!   [`stream::poller`], the subset of event filtering it needs, records in the
//!   shape Lambda delivers, and where it delivers them.
//! - [`iam`]: IAM, which DynamoDB Local and the Invoke API lack: each
//!   function held to its role in `infra/template.yaml` by a gate before
//!   DynamoDB Local and by the Lambda front, and refused as AWS refuses.
//! - [`aws`]: the SDK's configuration for the local endpoints, and the state
//!   table created on DynamoDB Local.
//! - [`table`]: a fresh state table for every test, and a DynamoDB that hangs.
//! - [`contacts`]: contacts as the Rules Engine leaves them, Connect's events,
//!   and the percentiles every report quotes.
//! - [`legacy`]: the original Rules Engine as a neighbour: its unconditional
//!   state writes, its echo integration function (served by the
//!   `integration-legacy` binary) and its start, for tests and the demo.
//! - [`counting`], [`faults`], [`logs`], [`metrics`]: requests counted by
//!   operation, failures injected into the SDK, captured logs, and the
//!   consumer's metrics captured and checked against the EMF specification.

pub mod aws;
pub mod clock;
pub mod contacts;
pub mod counting;
pub mod faults;
pub mod iam;
pub mod lambda;
pub mod legacy;
pub mod logs;
pub mod metrics;
pub mod stream;
pub mod table;

pub use clock::ManualClock;
pub use contacts::{connect_event, new_contact, percentile, percentiles, report, Rule};
pub use counting::RequestCounter;
pub use table::{local_client, SilentDynamoDb, TestTable};
