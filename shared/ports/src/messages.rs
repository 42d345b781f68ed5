//! Messages: the append that assigns a conversation's gap-free `seq`, and history reads.

use async_trait::async_trait;
use chat_domain::{ConversationId, Millis, NewMessage, Recall, Seq, StoredMessage, UserId};

use crate::PortResult;

/// The outcome of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, at the next seq of its conversation.
    New(StoredMessage),
    /// `(sender, client_msg_id)` was already stored: this is the original, nothing new stored.
    Duplicate(StoredMessage),
}

impl Appended {
    pub fn message(&self) -> &StoredMessage {
        match self {
            Appended::New(m) | Appended::Duplicate(m) => m,
        }
    }

    pub fn into_message(self) -> StoredMessage {
        match self {
            Appended::New(m) | Appended::Duplicate(m) => m,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Appended::New(_))
    }
}

/// Which slice of a conversation's history to read. Pages are always returned in seq order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryQuery {
    /// The first `limit` messages with seq > `after` (0 = from the start).
    After { after: u64, limit: u32 },
    /// The last `limit` messages with seq < `before` (`None` = the newest).
    Before { before: Option<Seq>, limit: u32 },
}

/// A page of history, in seq order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessagePage {
    pub messages: Vec<StoredMessage>,
    /// More messages lie beyond this page in the direction of the query.
    pub has_more: bool,
}

/// What a conversation list shows about a conversation without reading its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationHead {
    pub conversation_id: ConversationId,
    pub last_seq: Seq,
    pub last_message_at: Millis,
    pub last_sender_id: UserId,
    /// The start of the last message's body (absent for media-only and system messages).
    pub last_preview: Option<String>,
    /// A group's name (absent for direct conversations).
    pub name: Option<String>,
    /// The last message was recalled (and its preview erased).
    pub last_recalled: bool,
    /// A direct conversation's members, each with the seq of their newest own message (a
    /// member who has said nothing is absent; always empty for a group). Sending is reading:
    /// a member has read everything up to their own newest message, and `send` does not
    /// write that down (see [`ConversationHead::last_sent_by`]).
    pub last_sent: Vec<(UserId, Seq)>,
}

impl ConversationHead {
    /// The seq of `user`'s newest own message here, as far as the head knows (0: none, or a
    /// group, whose members' own messages move their read marks instead).
    pub fn last_sent_by(&self, user: &UserId) -> u64 {
        self.last_sent
            .iter()
            .find(|(member, _)| member == user)
            .map_or(0, |(_, seq)| seq.get())
    }
}

/// Characters of a body kept as the conversation's preview.
pub const PREVIEW_CHARS: usize = 100;

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Appends at the conversation's next seq, atomically and durably: when this returns `Ok`
    /// the message survives any crash. Concurrent appends never share or skip a seq.
    /// A second append with the same `(sender_id, client_msg_id)` stores nothing and answers
    /// `Duplicate` with the original; if that id was used in another conversation, `Conflict`.
    async fn append(&self, message: NewMessage) -> PortResult<Appended>;

    /// A page of one conversation's history.
    async fn history(
        &self,
        conversation: &ConversationId,
        query: HistoryQuery,
    ) -> PortResult<MessagePage>;

    /// The heads of the given conversations; conversations with no message yet are left out.
    async fn heads(&self, conversations: &[ConversationId]) -> PortResult<Vec<ConversationHead>>;

    /// Recalls the message at `seq`: erases its body and media, keeps it at its seq as a
    /// tombstone carrying `recall`, and erases the head's preview if it was the last message.
    /// Answers the tombstone; one recalled already is answered as it is (nothing written); a
    /// system message is not recalled (`BadRequest`); `None` when there is no such message.
    async fn recall(
        &self,
        conversation: &ConversationId,
        seq: Seq,
        recall: Recall,
    ) -> PortResult<Option<StoredMessage>>;

    /// Who sent the newest `limit` messages with a seq in `after + 1 ..= up_to`, each sender
    /// once, newest first; system messages count towards `limit` but their senders are left
    /// out. A receipt that covers those messages is news to them.
    async fn senders(
        &self,
        conversation: &ConversationId,
        after: u64,
        up_to: Seq,
        limit: u32,
    ) -> PortResult<Vec<UserId>>;
}
