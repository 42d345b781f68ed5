//! Who belongs to which conversation, with each member's delivered and read marks.

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{ConversationId, Millis, Seq, UserId};
use serde::{Deserialize, Serialize};

use crate::PortResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

/// One user's place in one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub role: Role,
    /// Every message up to this seq reached one of the user's devices (0 = none yet).
    pub delivered_seq: u64,
    /// The user has read every message up to this seq (0 = none yet). Never above
    /// `delivered_seq`'s eventual value: reading implies delivery.
    pub read_seq: u64,
    pub joined_at: Millis,
}

impl Membership {
    /// A new member with no marks yet.
    pub fn new(conversation_id: ConversationId, user_id: UserId, role: Role, at: Millis) -> Self {
        Membership {
            conversation_id,
            user_id,
            role,
            delivered_seq: 0,
            read_seq: 0,
            joined_at: at,
        }
    }
}

/// A member's marks after a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub delivered_seq: u64,
    pub read_seq: u64,
}

#[async_trait]
pub trait MembershipStore: Send + Sync {
    /// One membership (a key lookup).
    async fn membership(
        &self,
        conversation: &ConversationId,
        user: &UserId,
    ) -> PortResult<Option<Membership>>;

    /// Adds members; a member that already exists keeps its role and marks (idempotent).
    async fn add_members(&self, members: &[Membership]) -> PortResult<()>;

    /// Removes a member; answers whether it was there.
    async fn remove_member(&self, conversation: &ConversationId, user: &UserId)
    -> PortResult<bool>;

    /// Every conversation the user belongs to (one key-range query on the user).
    async fn memberships_of(&self, user: &UserId) -> PortResult<Vec<Membership>>;

    /// A page of a conversation's members in user-id order, after `after` (exclusive):
    /// group fan-out walks 10,000 members this way without holding them all.
    async fn members(
        &self,
        conversation: &ConversationId,
        after: Option<&UserId>,
        limit: u32,
    ) -> PortResult<Vec<Membership>>;

    /// Moves a high-water mark up to `seq` (a `read` mark moves `delivered` too). Marks never go
    /// down. Answers the marks after the change, or `None` when nothing moved (or no such member).
    async fn advance_mark(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        kind: MarkKind,
        seq: Seq,
    ) -> PortResult<Option<Marks>>;
}
