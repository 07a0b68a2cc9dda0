//! The state table and the run transitions, on DynamoDB Local.

mod errors;
mod items;
mod races;
mod refusals;
mod support;
mod transitions;
