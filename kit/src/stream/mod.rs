//! The stand-in for Lambda's event source mapping on the state table's stream:
//!
//! - [`poller`]: reads the stream's shards and delivers batches, with Lambda's
//!   retries, bisection and starting positions;
//! - [`filter`]: the subset of Lambda's event filtering it needs;
//! - [`event`]: records in the shape Lambda delivers;
//! - [`target`]: the consumer in-process, or a Lambda function.

pub mod event;
pub mod filter;
pub mod poller;
pub mod target;

pub use poller::{Poller, PollerConfig, StartingPosition};
