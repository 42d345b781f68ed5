//! Between SQLite values and domain types: the one place that knows how each type is spelled
//! in a column, and how a stored value that no longer parses becomes `ChatError::Internal`.
//!
//! Rows are read in two steps: `read` copies a row's raw columns (only rusqlite errors can
//! happen there), then `into_*` parses them with the domain parsers (only corruption can
//! happen there), so each failure is reported with what it is.

use chat_domain::{
    Body, ChatError, ClientMsgId, ConnectionId, ConversationId, DeviceId, GroupName, GroupSettings,
    MediaRef, MessageId, Millis, Recall, Seq, StoredMessage, SystemEvent, UserId,
};
use chat_ports::{
    Connection, ConversationHead, GroupInfo, LastSeenVisibility, Membership, Role, UserProfile,
};
use rusqlite::Row;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Maps a rusqlite error to `Internal`, naming what we were doing.
pub(crate) fn db(context: &'static str) -> impl Fn(rusqlite::Error) -> ChatError {
    move |err| ChatError::internal(context, err)
}

/// A stored value that does not parse back: the database is corrupt (or was edited by hand).
pub(crate) fn corrupt(column: &'static str) -> impl Fn(ChatError) -> ChatError {
    move |err| ChatError::internal(format!("corrupt value in column {column}"), err)
}

/// A seq or mark as SQLite stores it. Values come from our own counters, far below `i64::MAX`.
pub(crate) fn int(value: u64) -> Result<i64, ChatError> {
    i64::try_from(value).map_err(|err| ChatError::internal("a number too large to store", err))
}

/// A seq bound for a range query: anything past `i64::MAX` lies beyond every stored seq.
pub(crate) fn int_saturating(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored count or mark, which is never negative.
pub(crate) fn uint(column: &'static str, value: i64) -> Result<u64, ChatError> {
    u64::try_from(value)
        .map_err(|err| ChatError::internal(format!("corrupt value in column {column}"), err))
}

/// A stored seq, which is never 0.
pub(crate) fn seq(column: &'static str, value: i64) -> Result<Seq, ChatError> {
    Seq::new(uint(column, value)?).map_err(corrupt(column))
}

pub(crate) fn role_str(role: Role) -> &'static str {
    role.as_str()
}

fn parse_role(raw: &str) -> Result<Role, ChatError> {
    Role::parse(raw).map_err(corrupt("role"))
}

pub(crate) fn visibility_str(visibility: LastSeenVisibility) -> &'static str {
    match visibility {
        LastSeenVisibility::Everyone => "everyone",
        LastSeenVisibility::Contacts => "contacts",
        LastSeenVisibility::Nobody => "nobody",
    }
}

fn parse_visibility(raw: &str) -> Result<LastSeenVisibility, ChatError> {
    match raw {
        "everyone" => Ok(LastSeenVisibility::Everyone),
        "contacts" => Ok(LastSeenVisibility::Contacts),
        "nobody" => Ok(LastSeenVisibility::Nobody),
        other => Err(ChatError::internal(
            "corrupt value in column last_seen_visibility",
            format!("unknown visibility {other:?}"),
        )),
    }
}

/// A value stored as JSON text (a media reference, a system event, a recall).
pub(crate) fn json_text<T: Serialize>(
    column: &'static str,
    value: Option<&T>,
) -> Result<Option<String>, ChatError> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| ChatError::internal(format!("encoding column {column}"), err))
}

pub(crate) fn from_json<T: DeserializeOwned>(
    column: &'static str,
    text: Option<String>,
) -> Result<Option<T>, ChatError> {
    text.map(|json| serde_json::from_str::<T>(&json))
        .transpose()
        .map_err(|err| ChatError::internal(format!("corrupt value in column {column}"), err))
}

/// A stored 0/1 flag.
pub(crate) fn flag(value: i64) -> bool {
    value != 0
}

/// The columns of `messages`, in the order [`MessageRow::read`] reads them.
pub(crate) const MESSAGE_COLUMNS: &str = "conversation_id, seq, message_id, sender_id, \
     sender_device, client_msg_id, body, media, reply_to, sent_at, system, recalled";

/// One `messages` row, unparsed.
pub(crate) struct MessageRow {
    conversation_id: String,
    seq: i64,
    message_id: String,
    sender_id: String,
    sender_device: String,
    client_msg_id: String,
    body: Option<String>,
    media: Option<String>,
    reply_to: Option<i64>,
    sent_at: i64,
    system: Option<String>,
    recalled: Option<String>,
}

impl MessageRow {
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
        Ok(MessageRow {
            conversation_id: row.get(0)?,
            seq: row.get(1)?,
            message_id: row.get(2)?,
            sender_id: row.get(3)?,
            sender_device: row.get(4)?,
            client_msg_id: row.get(5)?,
            body: row.get(6)?,
            media: row.get(7)?,
            reply_to: row.get(8)?,
            sent_at: row.get(9)?,
            system: row.get(10)?,
            recalled: row.get(11)?,
        })
    }

    pub(crate) fn into_message(self) -> Result<StoredMessage, ChatError> {
        let media = from_json::<MediaRef>("media", self.media)?;
        Ok(StoredMessage {
            conversation_id: ConversationId::parse(&self.conversation_id)
                .map_err(corrupt("conversation_id"))?,
            seq: seq("seq", self.seq)?,
            message_id: MessageId::parse(&self.message_id).map_err(corrupt("message_id"))?,
            sender_id: UserId::parse(&self.sender_id).map_err(corrupt("sender_id"))?,
            sender_device: DeviceId::parse(&self.sender_device)
                .map_err(corrupt("sender_device"))?,
            client_msg_id: ClientMsgId::parse(&self.client_msg_id)
                .map_err(corrupt("client_msg_id"))?,
            body: self
                .body
                .map(Body::parse)
                .transpose()
                .map_err(corrupt("body"))?,
            media,
            reply_to: self.reply_to.map(|r| seq("reply_to", r)).transpose()?,
            sent_at: Millis(self.sent_at),
            system: from_json::<SystemEvent>("system", self.system)?,
            recalled: from_json::<Recall>("recalled", self.recalled)?,
        })
    }
}

/// The columns of `conversations`, in the order an insert gives them.
pub(crate) const HEAD_COLUMNS: &str =
    "conversation_id, last_seq, last_message_at, last_sender_id, last_preview";

/// A head as [`HeadRow::read`] reads it: the head's columns and its group's name.
pub(crate) const HEAD_SELECT: &str = "SELECT h.conversation_id, h.last_seq, h.last_message_at, \
     h.last_sender_id, h.last_preview, g.name, h.last_recalled \
     FROM conversations h LEFT JOIN groups g ON g.conversation_id = h.conversation_id";

/// One `conversations` row and its group's name, unparsed.
pub(crate) struct HeadRow {
    conversation_id: String,
    last_seq: i64,
    last_message_at: i64,
    last_sender_id: String,
    last_preview: Option<String>,
    name: Option<String>,
    last_recalled: i64,
}

impl HeadRow {
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<HeadRow> {
        Ok(HeadRow {
            conversation_id: row.get(0)?,
            last_seq: row.get(1)?,
            last_message_at: row.get(2)?,
            last_sender_id: row.get(3)?,
            last_preview: row.get(4)?,
            name: row.get(5)?,
            last_recalled: row.get(6)?,
        })
    }

    pub(crate) fn into_head(self) -> Result<ConversationHead, ChatError> {
        Ok(ConversationHead {
            conversation_id: ConversationId::parse(&self.conversation_id)
                .map_err(corrupt("conversation_id"))?,
            last_seq: seq("last_seq", self.last_seq)?,
            last_message_at: Millis(self.last_message_at),
            last_sender_id: UserId::parse(&self.last_sender_id)
                .map_err(corrupt("last_sender_id"))?,
            last_preview: self.last_preview,
            name: self.name,
            last_recalled: flag(self.last_recalled),
            last_sent: Vec::new(),
        })
    }
}

/// The columns of `groups`, in the order an insert gives them.
pub(crate) const GROUP_COLUMNS: &str = "conversation_id, name, only_admins_send, \
     only_admins_edit_info, created_by, created_at, member_count, closed, delivered_all_seq, \
     read_all_seq";

/// A group as [`GroupRow::read`] reads it: its row and its head's last seq.
pub(crate) const GROUP_SELECT: &str = "SELECT g.conversation_id, g.name, g.only_admins_send, \
     g.only_admins_edit_info, g.created_by, g.created_at, g.member_count, g.closed, \
     g.delivered_all_seq, g.read_all_seq, COALESCE(h.last_seq, 0) \
     FROM groups g LEFT JOIN conversations h ON h.conversation_id = g.conversation_id";

/// One `groups` row, unparsed.
pub(crate) struct GroupRow {
    conversation_id: String,
    name: String,
    only_admins_send: i64,
    only_admins_edit_info: i64,
    created_by: String,
    created_at: i64,
    member_count: i64,
    closed: i64,
    delivered_all_seq: i64,
    read_all_seq: i64,
    last_seq: i64,
}

impl GroupRow {
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<GroupRow> {
        Ok(GroupRow {
            conversation_id: row.get(0)?,
            name: row.get(1)?,
            only_admins_send: row.get(2)?,
            only_admins_edit_info: row.get(3)?,
            created_by: row.get(4)?,
            created_at: row.get(5)?,
            member_count: row.get(6)?,
            closed: row.get(7)?,
            delivered_all_seq: row.get(8)?,
            read_all_seq: row.get(9)?,
            last_seq: row.get(10)?,
        })
    }

    pub(crate) fn into_group(self) -> Result<GroupInfo, ChatError> {
        Ok(GroupInfo {
            conversation_id: ConversationId::parse(&self.conversation_id)
                .map_err(corrupt("conversation_id"))?,
            name: GroupName::parse(&self.name).map_err(corrupt("name"))?,
            settings: GroupSettings {
                only_admins_send: flag(self.only_admins_send),
                only_admins_edit_info: flag(self.only_admins_edit_info),
            },
            created_by: UserId::parse(&self.created_by).map_err(corrupt("created_by"))?,
            created_at: Millis(self.created_at),
            member_count: u32::try_from(self.member_count)
                .map_err(|err| ChatError::internal("corrupt value in column member_count", err))?,
            closed: flag(self.closed),
            delivered_all_seq: uint("delivered_all_seq", self.delivered_all_seq)?,
            read_all_seq: uint("read_all_seq", self.read_all_seq)?,
            last_seq: uint("last_seq", self.last_seq)?,
        })
    }
}

/// The columns of `connections`, in the order [`ConnectionRow::read`] reads them.
pub(crate) const CONNECTION_COLUMNS: &str =
    "connection_id, user_id, device_id, connected_at, expires_at";

/// One `connections` row, unparsed.
pub(crate) struct ConnectionRow {
    connection_id: String,
    user_id: String,
    device_id: String,
    connected_at: i64,
    expires_at: i64,
}

impl ConnectionRow {
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<ConnectionRow> {
        Ok(ConnectionRow {
            connection_id: row.get(0)?,
            user_id: row.get(1)?,
            device_id: row.get(2)?,
            connected_at: row.get(3)?,
            expires_at: row.get(4)?,
        })
    }

    pub(crate) fn into_connection(self) -> Result<Connection, ChatError> {
        Ok(Connection {
            connection_id: ConnectionId::parse(&self.connection_id)
                .map_err(corrupt("connection_id"))?,
            user_id: UserId::parse(&self.user_id).map_err(corrupt("user_id"))?,
            device_id: DeviceId::parse(&self.device_id).map_err(corrupt("device_id"))?,
            connected_at: Millis(self.connected_at),
            expires_at: Millis(self.expires_at),
        })
    }
}

/// The columns of `memberships`, in the order [`MembershipRow::read`] reads them.
pub(crate) const MEMBERSHIP_COLUMNS: &str = "conversation_id, user_id, role, delivered_seq, \
     read_seq, joined_at, joined_seq, left_seq, hidden_seq, hidden_messages, muted_until";

/// One `memberships` row, unparsed.
pub(crate) struct MembershipRow {
    conversation_id: String,
    user_id: String,
    role: String,
    delivered_seq: i64,
    read_seq: i64,
    joined_at: i64,
    joined_seq: i64,
    left_seq: Option<i64>,
    hidden_seq: i64,
    hidden_messages: i64,
    muted_until: Option<i64>,
}

impl MembershipRow {
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<MembershipRow> {
        Ok(MembershipRow {
            conversation_id: row.get(0)?,
            user_id: row.get(1)?,
            role: row.get(2)?,
            delivered_seq: row.get(3)?,
            read_seq: row.get(4)?,
            joined_at: row.get(5)?,
            joined_seq: row.get(6)?,
            left_seq: row.get(7)?,
            hidden_seq: row.get(8)?,
            hidden_messages: row.get(9)?,
            muted_until: row.get(10)?,
        })
    }

    pub(crate) fn into_membership(self) -> Result<Membership, ChatError> {
        Ok(Membership {
            conversation_id: ConversationId::parse(&self.conversation_id)
                .map_err(corrupt("conversation_id"))?,
            user_id: UserId::parse(&self.user_id).map_err(corrupt("user_id"))?,
            role: parse_role(&self.role)?,
            delivered_seq: uint("delivered_seq", self.delivered_seq)?,
            read_seq: uint("read_seq", self.read_seq)?,
            joined_at: Millis(self.joined_at),
            joined_seq: uint("joined_seq", self.joined_seq)?,
            left_seq: self.left_seq.map(|s| uint("left_seq", s)).transpose()?,
            hidden_seq: uint("hidden_seq", self.hidden_seq)?,
            hidden_messages: flag(self.hidden_messages),
            muted_until: self.muted_until.map(Millis),
        })
    }
}

/// The columns of `users`, in the order [`UserRow::read`] reads them.
pub(crate) const USER_COLUMNS: &str =
    "user_id, display_name, last_seen_visibility, last_seen_at, push_previews";

/// One `users` row, unparsed.
pub(crate) struct UserRow {
    user_id: String,
    display_name: Option<String>,
    last_seen_visibility: String,
    last_seen_at: Option<i64>,
    push_previews: i64,
}

impl UserRow {
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<UserRow> {
        Ok(UserRow {
            user_id: row.get(0)?,
            display_name: row.get(1)?,
            last_seen_visibility: row.get(2)?,
            last_seen_at: row.get(3)?,
            push_previews: row.get(4)?,
        })
    }

    pub(crate) fn into_profile(self) -> Result<UserProfile, ChatError> {
        Ok(UserProfile {
            user_id: UserId::parse(&self.user_id).map_err(corrupt("user_id"))?,
            display_name: self.display_name,
            last_seen_visibility: parse_visibility(&self.last_seen_visibility)?,
            push_previews: flag(self.push_previews),
            last_seen_at: self.last_seen_at.map(Millis),
        })
    }
}
