//! Counts the DynamoDB requests a client sends, by operation, retries included:
//! what a call costs, measured on the wire rather than assumed.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use aws_sdk_dynamodb::config::{
    interceptors::BeforeTransmitInterceptorContextRef, ConfigBag, Intercept, RuntimeComponents,
};

#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u32>>>);

impl RequestCounter {
    /// Requests sent for `operation` (`GetItem`, `Query`, `TransactWriteItems`, ...).
    pub fn count(&self, operation: &str) -> u32 {
        self.0
            .lock()
            .expect("not poisoned")
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    pub fn reset(&self) {
        self.0.lock().expect("not poisoned").clear();
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let operation = operation(context).unwrap_or("unknown").to_owned();
        *self
            .0
            .lock()
            .expect("not poisoned")
            .entry(operation)
            .or_default() += 1;
        Ok(())
    }
}

/// The DynamoDB operation a request is for, as `X-Amz-Target` names it
/// (`DynamoDB_20120810.GetItem` → `GetItem`).
pub fn operation<'a>(context: &'a BeforeTransmitInterceptorContextRef<'_>) -> Option<&'a str> {
    context
        .request()
        .headers()
        .get("x-amz-target")
        .and_then(|target| target.rsplit('.').next())
}
