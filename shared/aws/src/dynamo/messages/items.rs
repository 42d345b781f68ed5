//! The stored forms of a message, a conversation head and an idempotency key.
//!
//! A message item's attributes are exactly `StoredMessage`'s fields (absent options left out
//! rather than stored as NULL), plus `ttl` when the store keeps messages for a limited time, so
//! the fan-out consumer can decode a stream record's `NewImage` straight into `StoredMessage`
//! with `serde_dynamo` (which ignores `ttl`).

use chat_domain::{
    Body, ClientMsgId, ConversationId, DeviceId, MediaRef, MessageId, Millis, NewMessage, Recall,
    Seq, StoredMessage, SystemEvent, UserId,
};
use chat_ports::ConversationHead;
use serde::{Deserialize, Serialize};

/// Head attribute: the seq of the conversation's last message, the one `append` races on.
pub(crate) const LAST_SEQ: &str = "last_seq";
/// Head attribute: when the last message was sent.
pub(crate) const LAST_MESSAGE_AT: &str = "last_message_at";
/// Head attribute: who sent the last message.
pub(crate) const LAST_SENDER_ID: &str = "last_sender_id";
/// Head attribute: the start of the last message's body; absent for media-only messages.
pub(crate) const LAST_PREVIEW: &str = "last_preview";
/// Head attribute: the last message was recalled.
pub(crate) const LAST_RECALLED: &str = "last_recalled";

/// One message, keyed `(conversation_id, seq)`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MessageItem {
    conversation_id: ConversationId,
    seq: Seq,
    message_id: MessageId,
    sender_id: UserId,
    sender_device: DeviceId,
    client_msg_id: ClientMsgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Body>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media: Option<MediaRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reply_to: Option<Seq>,
    sent_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    system: Option<SystemEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recalled: Option<Recall>,
    /// In a direct conversation: the seq of the other member's newest message when this one
    /// was stored (absent: they had said nothing, or this is a group). With the sender and
    /// seq of the newest message it gives both members' newest own messages, which is what
    /// counts as read for each of them (`ConversationHead::last_sent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer_last_seq: Option<Seq>,
    /// When DynamoDB may delete the message (epoch seconds); absent when kept forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
}

impl MessageItem {
    /// The same item, expiring at `ttl` (epoch seconds) or never.
    pub(crate) fn expiring(self, ttl: Option<i64>) -> MessageItem {
        MessageItem { ttl, ..self }
    }

    /// The same item, noting the other member's newest seq (direct conversations).
    pub(crate) fn after_peer(self, peer_last_seq: Option<Seq>) -> MessageItem {
        MessageItem {
            peer_last_seq,
            ..self
        }
    }

    pub(crate) fn seq(&self) -> Seq {
        self.seq
    }

    /// Each member's newest own message, as of this one, the newest of its direct
    /// conversation: its sender's is this one, the other member's is `peer_last_seq`.
    pub(crate) fn last_sent(&self) -> Vec<(UserId, Seq)> {
        let Some(pair) = self.conversation_id.direct_members() else {
            return Vec::new();
        };
        pair.into_iter()
            .filter_map(|member| {
                let seq = if *member == self.sender_id {
                    Some(self.seq)
                } else {
                    self.peer_last_seq
                };
                seq.map(|seq| (member.clone(), seq))
            })
            .collect()
    }

    /// What the next message of this direct conversation, by `sender` at `seq`, notes as its
    /// `peer_last_seq`; `None` when this item is not the one right before `seq` (a stale or
    /// missing read: the note is then left out, which only counts the sender's own earlier
    /// messages as unread for them until they send again).
    pub(crate) fn peer_last_seq_for(&self, sender: &UserId, seq: Seq) -> Option<Seq> {
        if Seq::after(Some(self.seq)) != seq {
            return None;
        }
        if self.sender_id == *sender {
            self.peer_last_seq
        } else {
            Some(self.seq)
        }
    }
}

impl From<&StoredMessage> for MessageItem {
    fn from(m: &StoredMessage) -> Self {
        MessageItem {
            conversation_id: m.conversation_id.clone(),
            seq: m.seq,
            message_id: m.message_id.clone(),
            sender_id: m.sender_id.clone(),
            sender_device: m.sender_device.clone(),
            client_msg_id: m.client_msg_id.clone(),
            body: m.body.clone(),
            media: m.media.clone(),
            reply_to: m.reply_to,
            sent_at: m.sent_at,
            system: m.system.clone(),
            recalled: m.recalled.clone(),
            peer_last_seq: None,
            ttl: None,
        }
    }
}

impl From<MessageItem> for StoredMessage {
    fn from(item: MessageItem) -> Self {
        StoredMessage {
            conversation_id: item.conversation_id,
            seq: item.seq,
            message_id: item.message_id,
            sender_id: item.sender_id,
            sender_device: item.sender_device,
            client_msg_id: item.client_msg_id,
            body: item.body,
            media: item.media,
            reply_to: item.reply_to,
            sent_at: item.sent_at,
            system: item.system,
            recalled: item.recalled,
        }
    }
}

/// A conversation's head, keyed `conversation_id`. Written only by `append`'s update
/// expression (with the attribute names above), read back through this type.
#[derive(Debug, Deserialize)]
pub(crate) struct HeadItem {
    conversation_id: ConversationId,
    pub(crate) last_seq: Seq,
    last_message_at: Millis,
    last_sender_id: UserId,
    #[serde(default)]
    last_preview: Option<String>,
    /// A group's name (groups.rs writes it).
    #[serde(default)]
    name: Option<String>,
    /// Set by a recall of the last message, removed by the next append.
    #[serde(default)]
    last_recalled: bool,
}

impl From<HeadItem> for ConversationHead {
    fn from(item: HeadItem) -> Self {
        ConversationHead {
            conversation_id: item.conversation_id,
            last_seq: item.last_seq,
            last_message_at: item.last_message_at,
            last_sender_id: item.last_sender_id,
            last_preview: item.last_preview,
            name: item.name,
            last_recalled: item.last_recalled,
            last_sent: Vec::new(),
        }
    }
}

/// Just the seq of a head, as the append loop reads it.
#[derive(Debug, Deserialize)]
pub(crate) struct LastSeq {
    pub(crate) last_seq: Seq,
}

/// `(sender_id, client_msg_id)` → where that message was stored. A pointer rather than a copy
/// of the message: it stays one write unit whatever the body's size, and only a retry (rare)
/// pays the extra read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdempotencyItem {
    pub(crate) sender_id: UserId,
    pub(crate) client_msg_id: ClientMsgId,
    pub(crate) conversation_id: ConversationId,
    pub(crate) seq: Seq,
    /// The same expiry as the message it points at: the two go together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ttl: Option<i64>,
}

impl IdempotencyItem {
    /// The key of `message`'s send, pointing at `seq`.
    pub(crate) fn of(message: &NewMessage, seq: Seq, ttl: Option<i64>) -> IdempotencyItem {
        IdempotencyItem {
            sender_id: message.sender_id.clone(),
            client_msg_id: message.client_msg_id.clone(),
            conversation_id: message.conversation_id.clone(),
            seq,
            ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::codec::{from_item, n, to_item};

    fn message(body: Option<&str>) -> StoredMessage {
        StoredMessage {
            conversation_id: ConversationId::parse("grp:items").expect("conversation"),
            seq: Seq::new(7).expect("seq"),
            message_id: MessageId::parse("m-1").expect("message id"),
            sender_id: UserId::parse("alice").expect("user"),
            sender_device: DeviceId::parse("phone").expect("device"),
            client_msg_id: ClientMsgId::parse("c-1").expect("client id"),
            body: body.map(|b| Body::parse(b.to_string()).expect("body")),
            media: None,
            reply_to: None,
            sent_at: Millis(1_000),
            system: None,
            recalled: None,
        }
    }

    #[test]
    fn a_message_item_leaves_absent_fields_out_and_reads_back_as_stored_message() {
        let stored = message(None);
        let item = to_item("message", &MessageItem::from(&stored)).expect("encode");
        for absent in ["body", "media", "reply_to", "system", "recalled"] {
            assert!(!item.contains_key(absent), "{absent} stored");
        }
        // What the stream consumer does with a NEW_IMAGE.
        let decoded: StoredMessage = from_item("message", item.clone()).expect("as StoredMessage");
        assert_eq!(decoded, stored);
        let through_item: MessageItem = from_item("message", item).expect("as MessageItem");
        assert_eq!(StoredMessage::from(through_item), stored);
    }

    #[test]
    fn the_ttl_is_stored_only_when_set_and_ignored_by_stored_message() {
        let stored = message(None);
        let item = to_item(
            "message",
            &MessageItem::from(&stored).expiring(Some(86_401)),
        )
        .expect("encode");
        assert_eq!(item.get("ttl"), Some(&n(86_401)));
        let decoded: StoredMessage = from_item("message", item).expect("as StoredMessage");
        assert_eq!(decoded, stored);
        let forever =
            to_item("message", &MessageItem::from(&stored).expiring(None)).expect("encode");
        assert!(!forever.contains_key("ttl"));
    }

    #[test]
    fn a_message_with_a_body_round_trips() {
        let stored = message(Some("héllo 👋"));
        let item = to_item("message", &MessageItem::from(&stored)).expect("encode");
        let decoded: MessageItem = from_item("message", item).expect("decode");
        assert_eq!(StoredMessage::from(decoded), stored);
    }
}
