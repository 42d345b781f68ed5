//! Who belongs to which conversation, with each member's delivered and read marks.
//!
//! A member of a group who was removed (or left) stays on record as a *former* member: they keep
//! the history up to the seq of their removal (`left_seq`) and see nothing after it. Former
//! members are in `memberships_of` (the conversation stays in their list) but not in `members`,
//! and their marks no longer move.

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{ConversationId, Millis, Role, Seq, UserId};

use crate::PortResult;

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
    /// The first seq this member may see (0: from the start). A member added to a group later
    /// sees from the system message that added them.
    pub joined_seq: u64,
    /// Set for a former member: the seq of the system message that removed them, the last one
    /// they may see.
    pub left_seq: Option<u64>,
    /// "Delete for me" of the whole conversation: this member sees nothing up to this seq any
    /// more, on any device, and the conversation is out of their list until a message after it
    /// arrives (0: nothing deleted).
    pub hidden_seq: u64,
    /// This member deleted some messages for themselves (`HiddenStore` knows which): only then
    /// do their history reads look them up.
    pub hidden_messages: bool,
    /// No push notifications for this conversation until then (`None`: not muted).
    pub muted_until: Option<Millis>,
}

impl Membership {
    /// A new member with no marks yet, who sees the whole history.
    pub fn new(conversation_id: ConversationId, user_id: UserId, role: Role, at: Millis) -> Self {
        Membership {
            conversation_id,
            user_id,
            role,
            delivered_seq: 0,
            read_seq: 0,
            joined_at: at,
            joined_seq: 0,
            left_seq: None,
            hidden_seq: 0,
            hidden_messages: false,
            muted_until: None,
        }
    }

    /// Whether the member muted the conversation at `now`.
    pub fn is_muted(&self, now: Millis) -> bool {
        self.muted_until.is_some_and(|until| until > now)
    }

    /// Still a member (not removed, not left).
    pub fn is_current(&self) -> bool {
        self.left_seq.is_none()
    }

    /// Whether the conversation is out of this member's list: deleted for them, and nothing
    /// said since (its last message is `last_seq`).
    pub fn is_hidden(&self, last_seq: u64) -> bool {
        self.hidden_seq > 0 && self.visible_last(last_seq) <= self.hidden_seq
    }

    /// The last seq of a conversation whose last message is `last_seq` that this member sees.
    pub fn visible_last(&self, last_seq: u64) -> u64 {
        self.left_seq.map_or(last_seq, |left| left.min(last_seq))
    }

    /// The member's marks with their own messages up to `last_sent` counted as read (and so
    /// delivered): in a direct conversation `send` leaves the sender's marks alone, and the
    /// conversation's head says where the sender's own messages end
    /// ([`crate::ConversationHead::last_sent_by`]).
    pub fn with_own_messages_read(self, last_sent: u64) -> Membership {
        Membership {
            delivered_seq: self.delivered_seq.max(last_sent),
            read_seq: self.read_seq.max(last_sent),
            ..self
        }
    }

    /// Messages this member sees and has not read, in a conversation whose last is `last_seq`
    /// (what they deleted for themselves counts as read).
    pub fn unread(&self, last_seq: u64) -> u64 {
        self.visible_last(last_seq)
            .saturating_sub(self.read_seq.max(self.hidden_seq))
    }
}

/// A member's marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub delivered_seq: u64,
    pub read_seq: u64,
}

/// What a receipt did to a member's marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkMove {
    pub before: Marks,
    pub after: Marks,
}

/// One current member's mark of one kind, as [`MembershipStore::lowest_marks`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkHolder {
    pub user_id: UserId,
    pub seq: u64,
}

/// A current member who has a message, as [`MembershipStore::delivered_to`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: UserId,
    pub delivered_seq: u64,
    pub read_seq: u64,
    /// The first seq the member sees: one added after the message has marks above it without
    /// ever having seen it.
    pub joined_seq: u64,
}

/// Where a page of [`MembershipStore::delivered_to`] stopped: its last recipient's delivered
/// mark and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkCursor {
    pub delivered_seq: u64,
    pub user_id: UserId,
}

#[async_trait]
pub trait MembershipStore: Send + Sync {
    /// One membership (a key lookup).
    async fn membership(
        &self,
        conversation: &ConversationId,
        user: &UserId,
    ) -> PortResult<Option<Membership>>;

    /// Adds members of a direct conversation (groups change through `GroupStore`); a member
    /// that already exists keeps its role and marks (idempotent).
    async fn add_members(&self, members: &[Membership]) -> PortResult<()>;

    /// Every conversation the user belongs to or belonged to (one key-range query on the user).
    async fn memberships_of(&self, user: &UserId) -> PortResult<Vec<Membership>>;

    /// A page of a conversation's current members in user-id order, after `after`
    /// (exclusive): group fan-out walks 10,000 members this way without holding them all.
    async fn members(
        &self,
        conversation: &ConversationId,
        after: Option<&UserId>,
        limit: u32,
    ) -> PortResult<Vec<Membership>>;

    /// Moves a current member's high-water mark up to `seq` (a `read` mark moves `delivered`
    /// too). Marks never go down. Answers the marks before and after, or `None` when nothing
    /// moved (or no such current member).
    async fn advance_mark(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        kind: MarkKind,
        seq: Seq,
    ) -> PortResult<Option<MarkMove>>;

    /// The `limit` lowest `kind` marks among a group's current members, lowest first: the
    /// group's double and blue ticks are the lowest mark of everyone else. An index sorted by
    /// mark answers it, never a walk over the members (on DynamoDB an index, so it may lag a
    /// write by a moment). Direct conversations answer nothing (their receipts are the ticks).
    async fn lowest_marks(
        &self,
        conversation: &ConversationId,
        kind: MarkKind,
        limit: u32,
    ) -> PortResult<Vec<MarkHolder>>;

    /// "Delete for me" of a whole conversation: `user` sees nothing up to `up_to` any more, and
    /// it is out of their list until a later message (it only moves up). Answers whether there
    /// was such a membership (current or former).
    async fn hide_conversation(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        up_to: u64,
    ) -> PortResult<bool>;

    /// A page of a group's current members whose delivered mark is at least `seq` (who has the
    /// message at `seq`: "message info"), in delivered-mark order, after `after`. Their read
    /// marks tell who also read it. May lag a write by a moment, as `lowest_marks`.
    async fn delivered_to(
        &self,
        conversation: &ConversationId,
        seq: Seq,
        after: Option<&MarkCursor>,
        limit: u32,
    ) -> PortResult<Vec<Recipient>>;

    /// Mutes push for a member (current or former) until `until`, or unmutes (`None`).
    /// Answers whether there was such a membership.
    async fn set_muted(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        until: Option<Millis>,
    ) -> PortResult<bool>;
}
