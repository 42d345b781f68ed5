//! Key names and key builders of the three tables `append` writes together: messages,
//! conversation heads and idempotency keys. `tables.rs` defines the tables from these names.

use chat_domain::{ClientMsgId, ConversationId, Seq, UserId};

use crate::dynamo::codec::{Item, n, s};

/// Messages: partition key, the conversation.
pub(crate) const MESSAGE_HASH: &str = "conversation_id";
/// Messages: sort key, the seq (a number, so key ranges and order are numeric).
pub(crate) const MESSAGE_RANGE: &str = "seq";
/// Conversation heads: partition key, the conversation.
pub(crate) const HEAD_HASH: &str = "conversation_id";
/// Idempotency keys: partition key, the sender.
pub(crate) const IDEMPOTENCY_HASH: &str = "sender_id";
/// Idempotency keys: sort key, the sender's own id for the message.
pub(crate) const IDEMPOTENCY_RANGE: &str = "client_msg_id";

/// The key of one message.
pub(crate) fn message(conversation: &ConversationId, seq: Seq) -> Item {
    Item::from([
        (MESSAGE_HASH.to_string(), s(conversation)),
        (MESSAGE_RANGE.to_string(), n(seq.get())),
    ])
}

/// The key of a conversation's head.
pub(crate) fn head(conversation: &ConversationId) -> Item {
    Item::from([(HEAD_HASH.to_string(), s(conversation))])
}

/// The key of one `(sender, client_msg_id)`.
pub(crate) fn idempotency(sender: &UserId, client_msg_id: &ClientMsgId) -> Item {
    Item::from([
        (IDEMPOTENCY_HASH.to_string(), s(sender)),
        (IDEMPOTENCY_RANGE.to_string(), s(client_msg_id)),
    ])
}
