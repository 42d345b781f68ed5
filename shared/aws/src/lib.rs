//! AWS adapters behind the ports: the DynamoDB stores (connections, messages, memberships,
//! users) and the API Gateway management API pusher. S3 and SNS come next.
//!
//! This crate is an adapter layer: it knows the ports and the domain, never the handlers. Hosts
//! (the Lambda `main`s, `chat-local --backend aws`) build the SDK clients once and hand them to
//! the constructors here. The table layout and the cost of every access pattern are written
//! down in `docs/data-model.md`; keep the two in step.

mod backoff;
pub mod dynamo;
mod pusher;

pub use backoff::Backoff;
pub use dynamo::{DynamoStore, Tables, create_tables};
pub use pusher::{ApiGatewayPusher, management_client, management_endpoint};
