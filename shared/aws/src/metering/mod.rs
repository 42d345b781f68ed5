//! Counting what the adapters ask of AWS: one SDK interceptor, attached to every client a host
//! builds, tallies requests by service and operation, DynamoDB request units computed from
//! the real item sizes (`dynamo_units.rs`), and payload bytes (management API posts, SNS
//! publishes). Counters sprinkled through the adapters would drift from what is actually sent;
//! the interceptor sees every attempt, retries included.
//!
//! Used by `chat-bench cost` through `chat-local --backend aws`; the Lambdas do not attach it.

mod dynamo_units;
mod item_size;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionInput;
use aws_sdk_sns::operation::publish::PublishInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde::Serialize;

pub use dynamo_units::{IndexRule, IndexedTables};
pub use item_size::{item_size, value_size};

use crate::Tables;
use dynamo_units::{Outcome, RequestCost};

/// Counts every request of the clients it is attached to (`Builder::interceptor`). Clones
/// share one tally.
#[derive(Debug, Clone, Default)]
pub struct RequestMeter {
    tally: Arc<Mutex<BTreeMap<String, OperationTally>>>,
    indexed: Arc<IndexedTables>,
}

/// One operation's figures, e.g. `DynamoDB.PutItem`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OperationTally {
    /// HTTP requests sent (each retry attempt counts).
    pub requests: u64,
    /// Operations completed or failed (a retried operation counts once).
    pub operations: u64,
    /// DynamoDB read request units.
    pub read_units: f64,
    /// DynamoDB write request units (index writes included).
    pub write_units: f64,
    /// Payload bytes: the frame posted to a connection, the message published.
    pub payload_bytes: u64,
    /// The payloads in API Gateway's 32 KB message units (each payload rounded up).
    pub payload_units_32k: u64,
}

/// The tally at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MeterSnapshot {
    /// By `Service.Operation`, as the SDK names them (`DynamoDB.PutItem`,
    /// `DynamoDB Streams.GetRecords`, `ApiGatewayManagementApi.PostToConnection`, `SNS.Publish`).
    pub operations: BTreeMap<String, OperationTally>,
}

impl RequestMeter {
    /// A meter for tables without secondary indexes.
    pub fn new() -> RequestMeter {
        RequestMeter::default()
    }

    /// A meter that knows which of `tables` write secondary indexes (for their write units).
    pub fn for_tables(tables: &Tables) -> RequestMeter {
        RequestMeter::with_indexes(crate::dynamo::indexed_tables(tables))
    }

    /// A meter for tables whose items are also written to this many secondary indexes.
    pub fn with_indexes(indexed: IndexedTables) -> RequestMeter {
        RequestMeter {
            tally: Arc::default(),
            indexed: Arc::new(indexed),
        }
    }

    /// Everything counted so far (diff two with [`MeterSnapshot::since`]).
    pub fn snapshot(&self) -> MeterSnapshot {
        MeterSnapshot {
            operations: self.lock().clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, OperationTally>> {
        // A panic elsewhere while counting leaves plain numbers behind: keep counting.
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, cfg: &ConfigBag, update: impl FnOnce(&mut OperationTally)) {
        let name = cfg.load::<Metadata>().map_or_else(
            || "unknown".to_string(),
            |m| format!("{}.{}", m.service(), m.name()),
        );
        update(self.lock().entry(name).or_default());
    }
}

/// What the request will cost, worked out before it is serialized (the input is gone after).
#[derive(Debug, Clone, Default)]
struct Pending {
    cost: RequestCost,
    payload_bytes: u64,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

const API_GATEWAY_MESSAGE_UNIT: u64 = 32 * 1024;

impl Intercept for RequestMeter {
    fn name(&self) -> &'static str {
        "RequestMeter"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let payload_bytes = if let Some(post) = input.downcast_ref::<PostToConnectionInput>() {
            post.data().map_or(0, |d| d.as_ref().len() as u64)
        } else if let Some(publish) = input.downcast_ref::<PublishInput>() {
            publish.message().map_or(0, |m| m.len() as u64)
        } else {
            0
        };
        cfg.interceptor_state().store_put(Pending {
            cost: RequestCost::of_input(input, &self.indexed),
            payload_bytes,
        });
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.record(cfg, |tally| tally.requests += 1);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let pending = cfg.load::<Pending>().cloned().unwrap_or_default();
        let outcome = Outcome::of(context.output_or_error());
        let read_units = pending.cost.read_units(&outcome);
        let write_units = pending.cost.write_units(&outcome);
        self.record(cfg, |tally| {
            tally.operations += 1;
            tally.read_units += read_units;
            tally.write_units += write_units;
            tally.payload_bytes += pending.payload_bytes;
            if pending.payload_bytes > 0 {
                tally.payload_units_32k += pending.payload_bytes.div_ceil(API_GATEWAY_MESSAGE_UNIT);
            }
        });
        Ok(())
    }
}

impl OperationTally {
    /// What was added between `earlier` and `self` (counters only grow).
    fn since(&self, earlier: &OperationTally) -> OperationTally {
        OperationTally {
            requests: self.requests.saturating_sub(earlier.requests),
            operations: self.operations.saturating_sub(earlier.operations),
            read_units: self.read_units - earlier.read_units,
            write_units: self.write_units - earlier.write_units,
            payload_bytes: self.payload_bytes.saturating_sub(earlier.payload_bytes),
            payload_units_32k: self
                .payload_units_32k
                .saturating_sub(earlier.payload_units_32k),
        }
    }

    fn add(mut self, other: &OperationTally) -> OperationTally {
        self.requests += other.requests;
        self.operations += other.operations;
        self.read_units += other.read_units;
        self.write_units += other.write_units;
        self.payload_bytes += other.payload_bytes;
        self.payload_units_32k += other.payload_units_32k;
        self
    }
}

impl MeterSnapshot {
    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &MeterSnapshot) -> MeterSnapshot {
        let operations = self
            .operations
            .iter()
            .map(|(name, now)| {
                let before = earlier.operations.get(name).cloned().unwrap_or_default();
                (name.clone(), now.since(&before))
            })
            .filter(|(_, delta)| delta.requests > 0 || delta.operations > 0)
            .collect();
        MeterSnapshot { operations }
    }

    /// The operations of one service (`DynamoDB`, `ApiGatewayManagementApi`, `SNS`, …).
    pub fn service<'a>(
        &'a self,
        service: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a OperationTally)> {
        self.operations.iter().filter_map(move |(name, tally)| {
            let (svc, op) = name.split_once('.')?;
            (svc == service).then_some((op, tally))
        })
    }

    /// The sum over one service.
    pub fn total(&self, service: &str) -> OperationTally {
        self.service(service)
            .fold(OperationTally::default(), |sum, (_, t)| sum.add(t))
    }
}
