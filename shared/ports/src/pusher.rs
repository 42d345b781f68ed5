//! Pushing bytes to an open connection: API Gateway's `@connections` management API on AWS,
//! `chat-local`'s own gateway locally.

use async_trait::async_trait;
use chat_domain::ConnectionId;

use crate::PortResult;

/// What became of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    Delivered,
    /// The connection no longer exists (`410 GoneException`): the caller prunes it.
    Gone,
}

#[async_trait]
pub trait ConnectionPusher: Send + Sync {
    /// Sends one frame. Throttling is retried inside the adapter; `Gone` is an answer, not an error.
    async fn post(&self, connection: &ConnectionId, payload: &[u8]) -> PortResult<PostOutcome>;

    /// Closes a connection from the server side.
    async fn disconnect(&self, connection: &ConnectionId) -> PortResult<PostOutcome>;
}
