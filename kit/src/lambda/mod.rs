//! Lambda, speaking its wire protocols on 127.0.0.1:
//!
//! - [`invoke_api`]: a server for the Lambda Invoke API; what answers is a
//!   closure, so the same server is the local stack's front and the tests'
//!   stand-in for an integration function;
//! - [`Functions`]: pools of the functions' built binaries, each instance
//!   speaking the Runtime API, scaled, throttled and queued as Lambda does;
//! - [`fake`]: a recording stand-in for an integration function.

pub mod fake;
pub mod invoke_api;
mod pool;

pub use pool::{FunctionReport, FunctionSpec, Functions, InstanceState, Launch, OutputSink};
