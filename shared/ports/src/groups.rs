//! Groups: creating one, and changing its members, roles, name or settings together with the
//! system message that records the change, atomically.
//!
//! A change and its system message go together or not at all, so that history never says
//! "alice added bob" without bob being a member, nor the other way round; and the new member's
//! first visible seq (or the removed member's last) is the seq of that very message. The store
//! assigns that seq as `MessageStore::append` does (gap-free, in the same sequence).

use async_trait::async_trait;
use chat_domain::frames::MarkKind;
use chat_domain::{
    ConversationId, GroupName, GroupSettings, Millis, NewMessage, Role, StoredMessage, UserId,
};

use crate::PortResult;

/// How many member changes one [`GroupChange`] may carry: a DynamoDB transaction holds 100
/// items, three of which are the system message's (head, message, idempotency key).
pub const MAX_MEMBER_CHANGES: usize = 90;

/// A group as its head records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub conversation_id: ConversationId,
    pub name: GroupName,
    pub settings: GroupSettings,
    pub created_by: UserId,
    pub created_at: Millis,
    /// Current members.
    pub member_count: u32,
    /// The last member left; nobody can send or join any more.
    pub closed: bool,
    /// The seq of the group's last message.
    pub last_seq: u64,
    /// The group ticks last announced (`receipt_summary`): up to here every current member
    /// had delivered / read the messages (each sender's own count as theirs).
    pub delivered_all_seq: u64,
    pub read_all_seq: u64,
}

/// A group about to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    pub conversation_id: ConversationId,
    pub name: GroupName,
    pub settings: GroupSettings,
    pub created_by: UserId,
    pub created_at: Millis,
}

/// One member change of a [`GroupChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// A user who is not a current member becomes one (a former member comes back): they see
    /// from the change's message on, their marks start just before it.
    Add { user_id: UserId, role: Role },
    /// A current member becomes a former one, who sees up to the change's message.
    Remove { user_id: UserId },
    /// A current member's role changes.
    SetRole { user_id: UserId, role: Role },
}

impl MemberChange {
    pub fn user_id(&self) -> &UserId {
        match self {
            MemberChange::Add { user_id, .. }
            | MemberChange::Remove { user_id }
            | MemberChange::SetRole { user_id, .. } => user_id,
        }
    }
}

/// Changes to one group, stored with their system message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    /// The system message recording the change; the store gives it the group's next seq.
    pub message: NewMessage,
    /// At most [`MAX_MEMBER_CHANGES`], each user at most once.
    pub members: Vec<MemberChange>,
    pub name: Option<GroupName>,
    pub settings: Option<SettingsChange>,
    /// The change may not take the group past this many current members.
    pub max_members: u32,
}

/// New settings, on condition that the group's are still `from`, the ones the caller decided
/// on: two admins changing different settings at once cannot undo each other's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsChange {
    pub from: GroupSettings,
    pub to: GroupSettings,
}

impl GroupChange {
    /// The settings this change leaves a group whose settings are `current`; `Conflict` when
    /// they moved since the caller read them. (A store's condition on the head's `last_seq`
    /// guards the rest: every settings change is a message.)
    pub fn settings_after(&self, current: GroupSettings) -> PortResult<GroupSettings> {
        match self.settings {
            None => Ok(current),
            Some(wanted) if wanted.from == current => Ok(wanted.to),
            Some(_) => Err(chat_domain::ChatError::conflict(
                "the group's settings changed meanwhile; read the group again",
            )),
        }
    }
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Makes a group whose id has never been used: its head (name, settings, member count),
    /// its members, all seeing from seq 1, and `message` (its `created` system message) at seq
    /// 1. A large group may be written in several steps; until its head exists the group is
    /// listed nowhere, so a crash midway leaves nothing anybody sees.
    async fn create_group(
        &self,
        group: NewGroup,
        members: &[(UserId, Role)],
        message: NewMessage,
    ) -> PortResult<StoredMessage>;

    /// Applies `change` and appends its system message, atomically. `BadRequest` when the
    /// group would pass `max_members`; `NotFound` when there is no such (open) group;
    /// `Conflict` when a member change no longer fits (adding a current member, removing or
    /// changing the role of someone who is not one, removing the owner while anyone else
    /// stays) or the settings are no longer [`SettingsChange::from`]: the caller reads again
    /// and retries.
    async fn change_group(&self, change: GroupChange) -> PortResult<StoredMessage>;

    /// The group's head: name, settings, counts, announced ticks. `None` for no such group.
    async fn group(&self, conversation: &ConversationId) -> PortResult<Option<GroupInfo>>;

    /// Records a newly announced group tick (`delivered_all_seq` or `read_all_seq`): it only
    /// moves up. Answers whether it moved (so that of two receipts racing to announce the same
    /// tick, one does).
    async fn raise_tick(
        &self,
        conversation: &ConversationId,
        kind: MarkKind,
        seq: u64,
    ) -> PortResult<bool>;
}
