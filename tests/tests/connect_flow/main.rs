//! integration-start and check-timeout against DynamoDB Local, with the
//! integration function played behind a real Lambda Invoke API endpoint.

mod both_functions;
mod deadlines;
mod refusals;
mod start;
mod support;
