//! The local API Gateway: a WebSocket API and its `@connections` management API.

mod connections;
mod events;
pub(crate) mod management;
mod registry;
mod routes;
pub(crate) mod socket;

use std::sync::Arc;

pub use connections::MemoryConnections;
pub(crate) use events::request_time as clf_time;
pub(crate) use registry::Registry;

use crate::wiring::App;

/// What every gateway endpoint shares.
#[derive(Clone)]
pub(crate) struct GatewayState {
    pub app: Arc<App>,
    /// `host:port` as clients reach it: the events' `domainName`.
    pub domain_name: String,
}

/// A fresh id in API Gateway's style: 11 random bytes, base64 (16 characters, one `=`), so
/// clients and the SDK meet the same percent-encoding they meet on AWS.
pub(crate) fn gateway_id() -> String {
    use base64::Engine;
    let bytes: [u8; 11] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
