//! Messages: the body a client may send, the draft a handler appends, and the stored message
//! every device receives.

use serde::{Deserialize, Serialize};

use crate::conversation::ConversationId;
use crate::error::ChatError;
use crate::group::SystemEvent;
use crate::ids::{ClientMsgId, DeviceId, MediaId, MessageId, UserId};
use crate::limits::MAX_BODY_CHARS;
use crate::media::ThumbnailRef;
use crate::seq::Seq;
use crate::time::Millis;

/// A message's text: non-empty, at most `MAX_BODY_CHARS` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Body(String);

impl Body {
    pub fn parse(raw: String) -> Result<Body, ChatError> {
        if raw.is_empty() {
            return Err(ChatError::bad_request("body must not be empty"));
        }
        let chars = raw.chars().count();
        if chars > MAX_BODY_CHARS {
            return Err(ChatError::too_large(format!(
                "body has {chars} characters; the limit is {MAX_BODY_CHARS}"
            )));
        }
        Ok(Body(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `max_chars` characters, for conversation-list previews.
    pub fn preview(&self, max_chars: usize) -> String {
        self.0.chars().take(max_chars).collect()
    }
}

impl TryFrom<String> for Body {
    type Error = ChatError;
    fn try_from(raw: String) -> Result<Self, ChatError> {
        Body::parse(raw)
    }
}

impl From<Body> for String {
    fn from(body: Body) -> String {
        body.0
    }
}

/// A media attachment as it appears in a `message` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub id: MediaId,
    pub content_type: String,
    pub size: u64,
    /// Pixels, for images whose dimensions the server read (and video the client described).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A small JPEG preview: server-made for images, the client's poster for video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ThumbnailRef>,
    /// Length of audio or video, as the sending client gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl MediaRef {
    /// A reference with no dimensions, thumbnail or duration.
    pub fn plain(id: MediaId, content_type: impl Into<String>, size: u64) -> MediaRef {
        MediaRef {
            id,
            content_type: content_type.into(),
            size,
            width: None,
            height: None,
            thumbnail: None,
            duration_ms: None,
        }
    }
}

/// A recalled message's tombstone: who recalled it, and when. Its body and media are gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recall {
    pub by: UserId,
    pub at: Millis,
}

/// A message a handler asks the store to append. The store assigns the `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub sender_id: UserId,
    pub sender_device: DeviceId,
    pub client_msg_id: ClientMsgId,
    pub body: Option<Body>,
    pub media: Option<MediaRef>,
    pub reply_to: Option<Seq>,
    pub sent_at: Millis,
    /// A system message (a group change, done by `sender_id`): no body, no media.
    pub system: Option<SystemEvent>,
}

impl NewMessage {
    /// The stored form of this draft once the store has given it `seq`.
    pub fn stored_at(self, seq: Seq) -> StoredMessage {
        StoredMessage {
            conversation_id: self.conversation_id,
            seq,
            message_id: self.message_id,
            sender_id: self.sender_id,
            sender_device: self.sender_device,
            client_msg_id: self.client_msg_id,
            body: self.body,
            media: self.media,
            reply_to: self.reply_to,
            sent_at: self.sent_at,
            system: self.system,
            recalled: None,
        }
    }
}

/// A durably stored message: the same on every device.
///
/// Its serde form is the messages table's item (the stream consumer decodes stream images
/// into it), so absent options are left out and may be missing when read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub message_id: MessageId,
    pub sender_id: UserId,
    pub sender_device: DeviceId,
    pub client_msg_id: ClientMsgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    pub sent_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemEvent>,
    /// Set once the message is recalled (and its body and media erased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled: Option<Recall>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limits_count_characters_not_bytes() {
        assert!(Body::parse("é".repeat(MAX_BODY_CHARS)).is_ok());
        let too_long = Body::parse("x".repeat(MAX_BODY_CHARS + 1));
        assert!(matches!(too_long, Err(ChatError::TooLarge(_))));
        assert!(matches!(
            Body::parse(String::new()),
            Err(ChatError::BadRequest(_))
        ));
    }
}
