//! Client → server frames, parsed into commands.
//!
//! Each frame is first read into a loose wire shape (every field optional, unknown fields
//! ignored) and then parsed field by field, so that a client learns *which* field is wrong and
//! with which protocol code (`too_large` for an oversize body, `bad_request` for the rest).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::conversation::ConversationId;
use crate::error::ChatError;
use crate::ids::{ClientMsgId, MediaId, UserId};
use crate::limits::{MAX_PAGE, MAX_PRESENCE_IDS};
use crate::message::Body;
use crate::seq::Seq;

/// Reads a frame's JSON into a wire shape, with errors a client can act on.
pub fn read_frame<T: DeserializeOwned>(body: Option<&str>) -> Result<T, ChatError> {
    let body = body.unwrap_or_default();
    serde_json::from_str(body).map_err(|err| {
        if err.is_syntax() || err.is_eof() {
            ChatError::bad_request("frame is not valid JSON")
        } else {
            ChatError::bad_request(format!("invalid frame: {err}"))
        }
    })
}

/// The `action` of a frame, if it has one: what API Gateway's route selection reads.
pub fn action_of(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Action {
        action: Option<String>,
    }
    serde_json::from_str::<Action>(body).ok()?.action
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, ChatError> {
    value.ok_or_else(|| ChatError::bad_request(format!("missing field `{field}`")))
}

/// A page size: 1 ..= `MAX_PAGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    pub const MAX: PageLimit = PageLimit(MAX_PAGE);

    pub fn parse(raw: Option<u64>, default: PageLimit) -> Result<PageLimit, ChatError> {
        match raw {
            None => Ok(default),
            Some(n) if (1..=u64::from(MAX_PAGE)).contains(&n) => {
                Ok(PageLimit(u32::try_from(n).unwrap_or(MAX_PAGE)))
            }
            Some(n) => Err(ChatError::bad_request(format!(
                "limit must be between 1 and {MAX_PAGE}, got {n}"
            ))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The wire shape of `send`.
#[derive(Debug, Default, Deserialize)]
pub struct SendFrame {
    pub conversation_id: Option<String>,
    pub to: Option<String>,
    pub client_msg_id: Option<String>,
    pub body: Option<String>,
    pub media_id: Option<String>,
    /// For video: an image the sender uploaded as its poster.
    pub thumbnail_media_id: Option<String>,
    /// For audio and video: its length, as the client measured it.
    pub duration_ms: Option<u64>,
    pub reply_to: Option<u64>,
}

/// A parsed `send`: where to, what, and the idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendCommand {
    pub conversation_id: ConversationId,
    pub client_msg_id: ClientMsgId,
    pub body: Option<Body>,
    pub media_id: Option<MediaId>,
    pub thumbnail_media_id: Option<MediaId>,
    pub duration_ms: Option<u64>,
    pub reply_to: Option<Seq>,
}

impl SendFrame {
    /// Parses the frame for `sender`; `to` names the other user of a direct conversation.
    pub fn parse(self, sender: &UserId) -> Result<SendCommand, ChatError> {
        let client_msg_id = ClientMsgId::parse(&required("client_msg_id", self.client_msg_id)?)?;
        let conversation_id = match (self.conversation_id, self.to) {
            (Some(id), None) => ConversationId::parse(&id)?,
            (None, Some(to)) => {
                let to = UserId::parse(&to)?;
                if &to == sender {
                    return Err(ChatError::bad_request("`to` must be another user"));
                }
                ConversationId::direct(sender, &to)?
            }
            (Some(_), Some(_)) => {
                return Err(ChatError::bad_request(
                    "give either `conversation_id` or `to`, not both",
                ));
            }
            (None, None) => {
                return Err(ChatError::bad_request(
                    "missing field `conversation_id` or `to`",
                ));
            }
        };
        let body = self.body.map(Body::parse).transpose()?;
        let media_id = self.media_id.as_deref().map(MediaId::parse).transpose()?;
        if body.is_none() && media_id.is_none() {
            return Err(ChatError::bad_request(
                "a message needs a `body` or a `media_id`",
            ));
        }
        let thumbnail_media_id = self
            .thumbnail_media_id
            .as_deref()
            .map(MediaId::parse)
            .transpose()?;
        if media_id.is_none() && (thumbnail_media_id.is_some() || self.duration_ms.is_some()) {
            return Err(ChatError::bad_request(
                "`thumbnail_media_id` and `duration_ms` describe a `media_id`",
            ));
        }
        let reply_to = self.reply_to.map(Seq::new).transpose()?;
        Ok(SendCommand {
            conversation_id,
            client_msg_id,
            body,
            media_id,
            thumbnail_media_id,
            duration_ms: self.duration_ms,
            reply_to,
        })
    }

    /// The client's id for this message, if readable, so an `error` can name what it answers.
    pub fn client_msg_id(&self) -> Option<&str> {
        self.client_msg_id.as_deref()
    }
}

/// Which high-water mark a receipt moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    Delivered,
    Read,
}

/// The wire shape of `ack` and `receipt`.
#[derive(Debug, Default, Deserialize)]
pub struct ReceiptFrame {
    pub action: Option<String>,
    pub conversation_id: Option<String>,
    pub seq: Option<u64>,
    pub kind: Option<String>,
}

/// A parsed `ack` / `receipt`: `kind` up to `seq` in `conversation_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptCommand {
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub kind: MarkKind,
}

impl ReceiptFrame {
    pub fn parse(self) -> Result<ReceiptCommand, ChatError> {
        let conversation_id =
            ConversationId::parse(&required("conversation_id", self.conversation_id)?)?;
        let seq = Seq::new(required("seq", self.seq)?)?;
        // `ack` is exactly `receipt` with `kind: delivered`.
        let kind = if self.action.as_deref() == Some("ack") {
            MarkKind::Delivered
        } else {
            match required("kind", self.kind)?.as_str() {
                "delivered" => MarkKind::Delivered,
                "read" => MarkKind::Read,
                other => {
                    return Err(ChatError::bad_request(format!(
                        "kind must be `delivered` or `read`, got {other:?}"
                    )));
                }
            }
        };
        Ok(ReceiptCommand {
            conversation_id,
            seq,
            kind,
        })
    }
}

/// The wire shape of `recall`.
#[derive(Debug, Default, Deserialize)]
pub struct RecallFrame {
    pub conversation_id: Option<String>,
    pub seq: Option<u64>,
}

/// A parsed `recall`: the message at `seq` of `conversation_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallCommand {
    pub conversation_id: ConversationId,
    pub seq: Seq,
}

impl RecallFrame {
    pub fn parse(self) -> Result<RecallCommand, ChatError> {
        Ok(RecallCommand {
            conversation_id: ConversationId::parse(&required(
                "conversation_id",
                self.conversation_id,
            )?)?,
            seq: Seq::new(required("seq", self.seq)?)?,
        })
    }
}

/// Whether a user started or stopped typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    Start,
    Stop,
}

/// The wire shape of `typing`.
#[derive(Debug, Default, Deserialize)]
pub struct TypingFrame {
    pub conversation_id: Option<String>,
    pub state: Option<String>,
}

/// A parsed `typing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypingCommand {
    pub conversation_id: ConversationId,
    pub state: TypingState,
}

impl TypingFrame {
    pub fn parse(self) -> Result<TypingCommand, ChatError> {
        let conversation_id =
            ConversationId::parse(&required("conversation_id", self.conversation_id)?)?;
        let state = match required("state", self.state)?.as_str() {
            "start" => TypingState::Start,
            "stop" => TypingState::Stop,
            other => {
                return Err(ChatError::bad_request(format!(
                    "state must be `start` or `stop`, got {other:?}"
                )));
            }
        };
        Ok(TypingCommand {
            conversation_id,
            state,
        })
    }
}

/// The wire shape of `presence`.
#[derive(Debug, Default, Deserialize)]
pub struct PresenceFrame {
    pub user_ids: Option<Vec<String>>,
}

impl PresenceFrame {
    /// The users to answer about and watch: at most [`MAX_PRESENCE_IDS`], each once, in the
    /// order given. An empty list watches nobody.
    pub fn parse(self) -> Result<Vec<UserId>, ChatError> {
        let raw = required("user_ids", self.user_ids)?;
        if raw.len() > MAX_PRESENCE_IDS {
            return Err(ChatError::bad_request(format!(
                "at most {MAX_PRESENCE_IDS} user_ids, got {}",
                raw.len()
            )));
        }
        let mut users: Vec<UserId> = Vec::with_capacity(raw.len());
        for id in raw {
            let user = UserId::parse(&id)?;
            if !users.contains(&user) {
                users.push(user);
            }
        }
        Ok(users)
    }
}

/// The wire shape of `sync`.
#[derive(Debug, Default, Deserialize)]
pub struct SyncFrame {
    pub conversation_id: Option<String>,
    pub after_seq: Option<u64>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// A parsed `sync`: a summary of every conversation, or one conversation's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncCommand {
    Summary {
        cursor: Option<String>,
    },
    Messages {
        conversation_id: ConversationId,
        /// Messages with a seq strictly greater than this; 0 means from the start.
        after_seq: u64,
        limit: PageLimit,
    },
}

impl SyncFrame {
    pub fn parse(self) -> Result<SyncCommand, ChatError> {
        match self.conversation_id {
            None => Ok(SyncCommand::Summary {
                cursor: self.cursor,
            }),
            Some(id) => Ok(SyncCommand::Messages {
                conversation_id: ConversationId::parse(&id)?,
                after_seq: self.after_seq.unwrap_or(0),
                limit: PageLimit::parse(self.limit, PageLimit::MAX)?,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserId {
        UserId::parse("alice").expect("valid")
    }

    #[test]
    fn send_by_to_makes_the_direct_id() {
        let frame: SendFrame = read_frame(Some(
            r#"{"action":"send","to":"bob","client_msg_id":"c1","body":"hi"}"#,
        ))
        .expect("valid json");
        let cmd = frame.parse(&alice()).expect("valid send");
        assert_eq!(cmd.conversation_id.to_string(), "dm:alice:bob");
    }

    #[test]
    fn send_errors_name_the_field() {
        let frame: SendFrame = read_frame(Some(r#"{"to":"bob","body":"hi"}"#)).expect("json");
        let err = frame.parse(&alice()).expect_err("missing id");
        assert!(err.to_string().contains("client_msg_id"));
        let frame: SendFrame =
            read_frame(Some(r#"{"to":"alice","client_msg_id":"c","body":"hi"}"#)).expect("json");
        assert!(frame.parse(&alice()).is_err());
        assert!(read_frame::<SendFrame>(Some("{nope")).is_err());
        assert!(read_frame::<SendFrame>(Some(r#"{"reply_to":"x"}"#)).is_err());
    }

    #[test]
    fn ack_is_a_delivered_receipt() {
        let frame: ReceiptFrame = read_frame(Some(
            r#"{"action":"ack","conversation_id":"dm:a:b","seq":3}"#,
        ))
        .expect("json");
        assert_eq!(frame.parse().expect("valid").kind, MarkKind::Delivered);
        let frame: ReceiptFrame = read_frame(Some(
            r#"{"action":"receipt","conversation_id":"dm:a:b","seq":3,"kind":"seen"}"#,
        ))
        .expect("json");
        assert!(frame.parse().is_err());
    }

    #[test]
    fn sync_limits() {
        let frame: SyncFrame =
            read_frame(Some(r#"{"conversation_id":"dm:a:b","limit":101}"#)).expect("json");
        assert!(frame.parse().is_err());
        assert_eq!(action_of(r#"{"action":"sync"}"#).as_deref(), Some("sync"));
        assert_eq!(action_of("not json"), None);
    }
}
