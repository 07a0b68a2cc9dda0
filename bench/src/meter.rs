//! What a contact costs on DynamoDB, measured on the wire: an SDK interceptor that
//! asks for `ReturnConsumedCapacity=TOTAL` on every request of the client it is
//! installed on and adds up the `ConsumedCapacity` DynamoDB answers with, reads
//! and writes apart, transactional writes apart from plain ones.
//!
//! Only the benchmark's clients carry it: the store and the functions build the
//! same requests as in production, plus the one parameter that asks for the
//! figure (which changes nothing of what DynamoDB does).

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::{
    config::{
        interceptors::{BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef},
        ConfigBag, Intercept, RuntimeComponents,
    },
    error::BoxError,
    operation::{
        batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
        delete_item::{DeleteItemInput, DeleteItemOutput},
        get_item::{GetItemInput, GetItemOutput},
        put_item::{PutItemInput, PutItemOutput},
        query::{QueryInput, QueryOutput},
        transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
        update_item::{UpdateItemInput, UpdateItemOutput},
    },
    types::{ConsumedCapacity, ReturnConsumedCapacity},
    Client,
};

/// What the requests through one meter cost, since the last reset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Requests sent, retries included.
    pub requests: u32,
    /// Read requests (GetItem, Query).
    pub reads: u32,
    /// Read capacity units DynamoDB reported.
    pub rcu: f64,
    /// Write capacity units of plain writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem).
    pub plain_wcu: f64,
    /// Write capacity units of TransactWriteItems: two per KB per item.
    pub transactional_wcu: f64,
    /// Requests answered without a `ConsumedCapacity` although it was asked for.
    pub unreported: u32,
    /// Requests by operation name, in the order first seen.
    pub by_operation: Vec<(&'static str, u32)>,
}

impl Usage {
    pub fn wcu(&self) -> f64 {
        self.plain_wcu + self.transactional_wcu
    }

    fn count(&mut self, operation: &'static str) {
        self.requests += 1;
        match self
            .by_operation
            .iter_mut()
            .find(|(op, _)| *op == operation)
        {
            Some((_, n)) => *n += 1,
            None => self.by_operation.push((operation, 1)),
        }
    }
}

/// The interceptor; clones share their figures.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Mutex<Usage>>);

impl Meter {
    /// `client` with this meter installed.
    pub fn client(&self, client: &Client) -> Client {
        let config = client
            .config()
            .to_builder()
            .interceptor(self.clone())
            .build();
        Client::from_conf(config)
    }

    pub fn usage(&self) -> Usage {
        self.0.lock().expect("not poisoned").clone()
    }

    pub fn reset(&self) {
        *self.0.lock().expect("not poisoned") = Usage::default();
    }

    fn record(&self, operation: &'static str, kind: Kind, capacity: Option<f64>) {
        let mut usage = self.0.lock().expect("not poisoned");
        usage.count(operation);
        if kind == Kind::Read {
            usage.reads += 1;
        }
        let Some(units) = capacity else {
            usage.unreported += 1;
            return;
        };
        match kind {
            Kind::Read => usage.rcu += units,
            Kind::Write => usage.plain_wcu += units,
            Kind::Transaction => usage.transactional_wcu += units,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Transaction,
}

fn units(capacity: Option<&ConsumedCapacity>) -> Option<f64> {
    capacity.and_then(|c| c.capacity_units)
}

fn total(capacities: &[ConsumedCapacity]) -> Option<f64> {
    (!capacities.is_empty()).then(|| capacities.iter().filter_map(|c| c.capacity_units).sum())
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        macro_rules! ask_for_capacity {
            ($($input:ty),* $(,)?) => {
                $(if let Some(i) = input.downcast_mut::<$input>() {
                    i.return_consumed_capacity = Some(ReturnConsumedCapacity::Total);
                    return Ok(());
                })*
            };
        }
        ask_for_capacity!(
            GetItemInput,
            QueryInput,
            PutItemInput,
            UpdateItemInput,
            DeleteItemInput,
            BatchWriteItemInput,
            TransactWriteItemsInput,
        );
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The input is gone by now; the output names the operation. A request
        // that failed is counted, with no capacity.
        let Some(Ok(output)) = context.output_or_error() else {
            self.record("failed", Kind::Read, None);
            return Ok(());
        };
        // Each output names its operation, its kind, and how its capacity reads:
        // one figure (`units`) or one per table (`total`).
        macro_rules! measure {
            ($(($output:ty, $name:literal, $kind:expr, $capacity:ident)),* $(,)?) => {
                $(if let Some(o) = output.downcast_ref::<$output>() {
                    self.record($name, $kind, $capacity(o.consumed_capacity()));
                    return Ok(());
                })*
            };
        }
        measure!(
            (GetItemOutput, "GetItem", Kind::Read, units),
            (QueryOutput, "Query", Kind::Read, units),
            (PutItemOutput, "PutItem", Kind::Write, units),
            (UpdateItemOutput, "UpdateItem", Kind::Write, units),
            (DeleteItemOutput, "DeleteItem", Kind::Write, units),
            (BatchWriteItemOutput, "BatchWriteItem", Kind::Write, total),
            (
                TransactWriteItemsOutput,
                "TransactWriteItems",
                Kind::Transaction,
                total
            ),
        );
        self.record("other", Kind::Read, None);
        Ok(())
    }
}
