//! Server → client events, exactly as `protocol.md` names them. Every event carries `type`.

use serde::{Deserialize, Serialize};

use crate::conversation::{ConversationId, ConversationKind};
use crate::error::{ChatError, ErrorCode};
use crate::frames::{MarkKind, TypingState};
use crate::group::SystemEvent;
use crate::ids::{ClientMsgId, ConnectionId, MessageId, UserId};
use crate::message::{MediaRef, Recall, StoredMessage};
use crate::seq::Seq;
use crate::time::Millis;

/// A message as every device receives it (the `message` event and each entry of `messages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub message_id: MessageId,
    pub sender_id: UserId,
    pub sent_at: Millis,
    pub client_msg_id: ClientMsgId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// A system message (a group change by `sender_id`): no body, no media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemEvent>,
    /// A recalled message's tombstone: no body, no media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled: Option<Recall>,
    /// The reader deleted this message for themselves: a stub at its seq, no body, no media.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted_for_me: bool,
}

impl MessageView {
    /// This message as a reader who deleted it for themselves sees it.
    pub fn deleted_for_me(self) -> MessageView {
        MessageView {
            body: None,
            media: None,
            reply_to: None,
            deleted_for_me: true,
            ..self
        }
    }
}

impl From<StoredMessage> for MessageView {
    fn from(m: StoredMessage) -> Self {
        MessageView {
            conversation_id: m.conversation_id,
            seq: m.seq,
            message_id: m.message_id,
            sender_id: m.sender_id,
            sent_at: m.sent_at,
            client_msg_id: m.client_msg_id,
            body: m.body.map(String::from),
            media: m.media,
            reply_to: m.reply_to,
            system: m.system,
            recalled: m.recalled,
            deleted_for_me: false,
        }
    }
}

/// One line of the `sync` summary: where the caller stands in one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub conversation_id: ConversationId,
    pub kind: ConversationKind,
    pub name: Option<String>,
    pub last_seq: u64,
    pub delivered_seq: u64,
    pub read_seq: u64,
    pub unread: u64,
}

/// Every event the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The message is durably stored ("sent").
    Ack {
        client_msg_id: ClientMsgId,
        conversation_id: ConversationId,
        seq: Seq,
        message_id: MessageId,
        sent_at: Millis,
    },
    /// A message (boxed: it is much larger than the other events).
    Message(Box<MessageView>),
    Receipt {
        conversation_id: ConversationId,
        user_id: UserId,
        kind: MarkKind,
        seq: Seq,
    },
    /// A group's ticks moved: every current member has delivered / read up to these seqs
    /// (each sender's own messages count as theirs). Sent to the senders of the messages the
    /// move newly covers.
    ReceiptSummary {
        conversation_id: ConversationId,
        delivered_all_seq: u64,
        read_all_seq: u64,
    },
    Typing {
        conversation_id: ConversationId,
        user_id: UserId,
        state: TypingState,
    },
    Presence {
        user_id: UserId,
        online: bool,
        last_seen: Option<Millis>,
    },
    /// A message was recalled by `by`: show its tombstone.
    Recalled {
        conversation_id: ConversationId,
        seq: Seq,
        by: UserId,
    },
    /// The user deleted a conversation for themselves (to their own devices).
    ConversationDeleted { conversation_id: ConversationId },
    /// The user deleted a message for themselves (to their own devices).
    MessageDeleted {
        conversation_id: ConversationId,
        seq: Seq,
    },
    Sync {
        conversations: Vec<ConversationSummary>,
        /// Present when the summary was paged: pass it back as `cursor` for the rest.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
    },
    Messages {
        conversation_id: ConversationId,
        messages: Vec<MessageView>,
        has_more: bool,
    },
    MemberAdded {
        conversation_id: ConversationId,
        user_id: UserId,
        by: UserId,
    },
    MemberRemoved {
        conversation_id: ConversationId,
        user_id: UserId,
        by: UserId,
    },
    /// The answer to `ping`. `connection_id` is this socket's API Gateway connection id, for
    /// support and debugging (the `@connections` API needs it; clients never must).
    Pong {
        at: Millis,
        connection_id: ConnectionId,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<String>,
        /// `rate_limited`: when to try again.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<i64>,
    },
}

impl ServerEvent {
    /// The `message` event of a stored message.
    pub fn message(message: StoredMessage) -> Self {
        ServerEvent::Message(Box::new(MessageView::from(message)))
    }

    /// The `error` event answering `action` (and the client's message id, where known).
    pub fn error(err: &ChatError, action: Option<&str>, client_msg_id: Option<&str>) -> Self {
        ServerEvent::Error {
            code: err.code(),
            message: err.client_message(),
            client_msg_id: client_msg_id.map(str::to_string),
            action: action.map(str::to_string),
            retry_after_ms: err.retry_after_ms(),
        }
    }

    /// The JSON text of this event. Serializing these types cannot fail (string keys only).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"internal error"}"#.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_with_type() {
        let ev = ServerEvent::Pong {
            at: Millis(5),
            connection_id: ConnectionId::parse("abc=").expect("id"),
        };
        assert_eq!(
            ev.to_json(),
            r#"{"type":"pong","at":5,"connection_id":"abc="}"#
        );
        let err = ServerEvent::error(&ChatError::forbidden(), Some("send"), Some("c1"));
        let json: serde_json::Value = serde_json::from_str(&err.to_json()).expect("json");
        assert_eq!(json["type"], "error");
        assert_eq!(json["code"], "forbidden");
        assert_eq!(json["client_msg_id"], "c1");
    }
}
