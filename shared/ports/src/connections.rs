//! Open WebSocket connections, by user: who is online, on which device, where to push.

use async_trait::async_trait;
use chat_domain::{ConnectionId, DeviceId, Millis, UserId};

use crate::PortResult;

/// One open connection of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub connection_id: ConnectionId,
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub connected_at: Millis,
    /// After this instant the connection is dead even if `$disconnect` never came (API Gateway
    /// closes every connection after 2 hours); stores treat it as gone, DynamoDB's TTL reaps it.
    pub expires_at: Millis,
}

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Records an open connection (overwrites one with the same id). Answers how many other
    /// connections of the user were live at its `connected_at`: 0 means the user just came
    /// online.
    async fn put_connection(&self, connection: &Connection) -> PortResult<usize>;

    /// Forgets a connection; forgetting an unknown one is not an error. Answers how many of the
    /// user's connections are still live at `now`: 0 means the user went offline.
    async fn remove_connection(
        &self,
        user: &UserId,
        id: &ConnectionId,
        now: Millis,
    ) -> PortResult<usize>;

    /// The user's connections that have not expired at `now` (one key lookup or range query).
    async fn connections_of(&self, user: &UserId, now: Millis) -> PortResult<Vec<Connection>>;

    /// The connections of up to 100 users that have not expired at `now`, in one store
    /// request: how a fan-out finds a page of a group's online devices.
    async fn connections_of_users(
        &self,
        users: &[UserId],
        now: Millis,
    ) -> PortResult<Vec<Connection>>;
}
