//! The local stack's Lambda, speaking Lambda's wire protocols on 127.0.0.1:
//!
//! - [`invoke_api`]: a server for the Lambda Invoke API; what answers is a
//!   closure, so the same server is the stack's front and the tests' stand-in
//!   for an integration function;
//! - [`front`]: the one endpoint the functions and the contact simulator call,
//!   passing invocations to what runs the functions, with injected refusals;
//! - [`Functions`]: pools of the functions' built binaries, each instance
//!   speaking the Runtime API, scaled, throttled and queued as Lambda does.

pub mod front;
pub mod invoke_api;
mod pool;

pub use pool::{FunctionReport, FunctionSpec, Functions, Launch, OutputSink};
