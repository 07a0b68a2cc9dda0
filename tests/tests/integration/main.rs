//! The integration function framework and the echo function, on DynamoDB Local:
//! the handler is called in-process, as Lambda would call it, with state seeded
//! as the Rules Engine and start leave it.

mod echo;
mod logging;
mod native;
mod outputs;
mod runs;
mod support;
