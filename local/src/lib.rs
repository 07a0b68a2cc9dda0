//! Local tooling around the functions, speaking the real AWS wire protocols:
//!
//! - [`poller`]: the stand-in for Lambda's event source mapping on the state
//!   table's stream, with [`filter`] (the subset of Lambda's event filtering it
//!   needs), [`stream_event`] (records in the shape Lambda delivers) and
//!   [`target`] (the consumer in-process, or a Lambda function).
//! - [`replay`]: feeds saved stream events to the consumer and says what it did.
//! - [`bench`]: measures the consumer's throughput against DynamoDB Local, on
//!   records from [`synthetic`].

pub mod bench;
pub mod filter;
pub mod poller;
pub mod replay;
pub mod stream_event;
pub mod synthetic;
pub mod target;
