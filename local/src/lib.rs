//! The local stack and its main job, on the stand-ins of the `kit` crate:
//!
//! - [`stack`]: the functions in Lambda's process pools (or under `cargo lambda
//!   watch`, for the edit-and-reload loop) behind one Invoke API front, the
//!   stream poller and the sweep's schedule, on DynamoDB Local; with the
//!   [`stack::faults`] a run can be given (a store outage, refused invocations).
//! - [`connect`]: Connect's stand-in, playing the contact [`connect::flow`] of
//!   `infra/` as its [`connect::simulator`], once the flow has been checked
//!   against Connect's reference (`local-stack flow check` reports every
//!   refusal).
//! - [`dashboard`]: a page (and a picture of it, by headless Chromium) of the
//!   consumer's EMF documents, drawing the widgets of the template's dashboard.
//! - [`demo`]: the main job: its scenarios, the mixed run, the summary and the
//!   invariants, judged beside how busy the machine was.
//! - [`replay`]: feeds saved stream events to the consumer and says what it did.

pub mod connect;
pub mod dashboard;
pub mod demo;
pub mod replay;
pub mod stack;
