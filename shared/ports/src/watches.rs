//! Presence subscriptions: which connections watch whose `online` changes. A `presence` frame
//! replaces what its connection watches; a user coming online or going offline is pushed to
//! every connection watching them.

use async_trait::async_trait;
use chat_domain::{ConnectionId, Millis, UserId};

use crate::PortResult;

/// A connection watching a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    pub connection_id: ConnectionId,
    /// Whose connection it is.
    pub user_id: UserId,
    /// When the connection last asked for this user (and was told their presence).
    pub since: Millis,
}

#[async_trait]
pub trait WatchStore: Send + Sync {
    /// Makes `connection` (of `subscriber`) watch exactly `users` (≤ 100) from `since` (it is
    /// told their presence then) until `expires_at` (when the connection dies at the latest):
    /// what it watched before and is not in `users` is forgotten.
    async fn watch(
        &self,
        connection: &ConnectionId,
        subscriber: &UserId,
        users: &[UserId],
        since: Millis,
        expires_at: Millis,
    ) -> PortResult<()>;

    /// The connections watching `user` that have not expired at `now`.
    async fn watchers(&self, user: &UserId, now: Millis) -> PortResult<Vec<Watcher>>;

    /// Forgets everything `connection` watches (it closed, or was found gone).
    async fn unwatch(&self, connection: &ConnectionId) -> PortResult<()>;
}
