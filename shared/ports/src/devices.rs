//! Devices registered for push, per user, and when each conversation last notified a user.

use async_trait::async_trait;
use chat_domain::{ConversationId, DeviceId, Millis, Seq, UserId};

use crate::{PortResult, PushEndpoint};

/// Who to notify among some users: one with at least one registered device, with their
/// preview setting (read in the same request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub user_id: UserId,
    /// `push_previews` from the profile: `false` means "New message" only.
    pub previews: bool,
    pub endpoints: Vec<PushEndpoint>,
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Records (or replaces) a device's push registration.
    async fn put_device(&self, endpoint: &PushEndpoint) -> PortResult<()>;

    /// Forgets a device's registration; answers whether there was one.
    async fn remove_device(&self, user: &UserId, device: &DeviceId) -> PortResult<bool>;

    /// The user's registered devices.
    async fn devices_of(&self, user: &UserId) -> PortResult<Vec<PushEndpoint>>;

    /// The users among `users` (at most 100) who have a registered device, in one store
    /// request: how the stream consumer finds a page of a group's phones.
    async fn push_targets(&self, users: &[UserId]) -> PortResult<Vec<PushTarget>>;
}

/// The last notification per user and conversation: what makes push at-most-once per message
/// and coalesces a burst.
#[async_trait]
pub trait PushLedger: Send + Sync {
    /// Claims the right to notify `user` of the message at `seq`: `true` (and recorded) only
    /// when no notification for this conversation covered `seq` already and none went out in
    /// the `quiet_ms` before `now`. One conditional write.
    async fn claim_push(
        &self,
        user: &UserId,
        conversation: &ConversationId,
        seq: Seq,
        now: Millis,
        quiet_ms: i64,
    ) -> PortResult<bool>;
}
