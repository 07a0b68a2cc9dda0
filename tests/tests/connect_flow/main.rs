//! integration-start and check-timeout against DynamoDB Local, with the
//! integration function played behind a real Lambda Invoke API endpoint; and
//! the shipped contact flows played block by block against the real handlers.

mod both_functions;
mod deadlines;
mod flows;
mod player;
mod refusals;
mod start;
mod start_until_end;
mod support;
