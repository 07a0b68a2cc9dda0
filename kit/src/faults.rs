//! Faults injected into a DynamoDB client: the `n`th request of an operation
//! fails, either before it is sent (nothing written: a refused connection) or
//! after DynamoDB answered (written, but the caller never learns it: a timeout
//! or a dropped connection on the way back).

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
    after_sending: bool,
    seen: Arc<AtomicU32>,
}

impl FailNth {
    /// Fails the `nth` (1-based) request for `operation` (`UpdateItem`, `GetItem`, ...).
    pub fn new(operation: &'static str, nth: u32) -> Self {
        Self {
            operation,
            nth,
            after_sending: false,
            seen: Arc::default(),
        }
    }

    /// Lets the `nth` request for `operation` reach DynamoDB and drops its answer.
    pub fn answer_lost(operation: &'static str, nth: u32) -> Self {
        Self {
            after_sending: true,
            ..Self::new(operation, nth)
        }
    }

    /// Requests for the operation seen so far, the failed one included.
    pub fn seen(&self) -> u32 {
        self.seen.load(Ordering::SeqCst)
    }
}

/// Marks a request whose answer is to be lost.
#[derive(Debug, Clone)]
struct Doomed(bool);

impl aws_smithy_types::config_bag::Storable for Doomed {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl Intercept for FailNth {
    fn name(&self) -> &'static str {
        "FailNth"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if crate::counting::operation(context) != Some(self.operation) {
            return Ok(());
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if self.after_sending {
            // Read back once the answer is in (each attempt of an SDK retry anew).
            cfg.interceptor_state().store_put(Doomed(n == self.nth));
            return Ok(());
        }
        if n == self.nth {
            return Err(format!("injected fault: {} request {n} not sent", self.operation).into());
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if cfg.load::<Doomed>().is_some_and(|doomed| doomed.0) {
            return Err(
                format!("injected fault: the answer to {} was lost", self.operation).into(),
            );
        }
        Ok(())
    }
}

/// Fails, before sending, every request for `operation` whose body mentions
/// `needle` (a contact id, say): one contact's writes fail, the rest go through.
#[derive(Debug, Clone)]
pub struct FailFor {
    operation: &'static str,
    needle: String,
    failed: Arc<AtomicU32>,
}

impl FailFor {
    pub fn new(operation: &'static str, needle: impl Into<String>) -> Self {
        Self {
            operation,
            needle: needle.into(),
            failed: Arc::default(),
        }
    }

    /// Requests failed so far.
    pub fn failed(&self) -> u32 {
        self.failed.load(Ordering::SeqCst)
    }
}

impl Intercept for FailFor {
    fn name(&self) -> &'static str {
        "FailFor"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if crate::counting::operation(context) != Some(self.operation) {
            return Ok(());
        }
        let body = context.request().body().bytes().unwrap_or_default();
        if !String::from_utf8_lossy(body).contains(&self.needle) {
            return Ok(());
        }
        self.failed.fetch_add(1, Ordering::SeqCst);
        Err(format!(
            "injected fault: {} for {} not sent",
            self.operation, self.needle
        )
        .into())
    }
}
