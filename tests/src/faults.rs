//! Faults injected into a DynamoDB client: the `n`th request of an operation
//! fails before it is sent, as a request would that never reached DynamoDB
//! (a dropped connection, a throttle the SDK gave up on). Nothing is written.

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc,
};

use aws_sdk_dynamodb::config::{
    interceptors::BeforeTransmitInterceptorContextRef, ConfigBag, Intercept, RuntimeComponents,
};

#[derive(Debug, Clone)]
pub struct FailNth {
    operation: &'static str,
    nth: u32,
    seen: Arc<AtomicU32>,
}

impl FailNth {
    /// Fails the `nth` (1-based) request for `operation` (`UpdateItem`, `GetItem`, ...).
    pub fn new(operation: &'static str, nth: u32) -> Self {
        Self {
            operation,
            nth,
            seen: Arc::default(),
        }
    }

    /// Requests for the operation seen so far, the failed one included.
    pub fn seen(&self) -> u32 {
        self.seen.load(Ordering::SeqCst)
    }
}

impl Intercept for FailNth {
    fn name(&self) -> &'static str {
        "FailNth"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        if target.rsplit('.').next() != Some(self.operation) {
            return Ok(());
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.nth {
            return Err(format!("injected fault: {} request {n} dropped", self.operation).into());
        }
        Ok(())
    }
}
