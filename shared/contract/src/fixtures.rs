//! Builders for the cases' ids and messages, so each case reads as what it checks. A builder
//! panics on an invalid id: that is a bug in the case, not in the backend.

use chat_domain::{
    Body, ClientMsgId, ConnectionId, ConversationId, DeviceId, GroupId, MessageId, Millis,
    NewMessage, StoredMessage, SystemEvent, UserId,
};
use chat_ports::{Appended, Connection, Membership, Role};

use crate::Stores;

pub(crate) fn user(raw: &str) -> UserId {
    UserId::parse(raw).expect("valid user id")
}

pub(crate) fn device(raw: &str) -> DeviceId {
    DeviceId::parse(raw).expect("valid device id")
}

pub(crate) fn group(raw: &str) -> ConversationId {
    ConversationId::group(GroupId::parse(raw).expect("valid group id"))
}

pub(crate) fn dm(a: &UserId, b: &UserId) -> ConversationId {
    ConversationId::direct(a, b).expect("two different users")
}

/// A text message from `sender`'s phone; its message id is derived from the sender and
/// `client_msg_id`, so it is unique within a case.
pub(crate) fn text(
    conversation: &ConversationId,
    sender: &UserId,
    client_msg_id: &str,
    body: &str,
    at: i64,
) -> NewMessage {
    NewMessage {
        conversation_id: conversation.clone(),
        message_id: MessageId::parse(&format!("m-{sender}-{client_msg_id}"))
            .expect("valid message id"),
        sender_id: sender.clone(),
        sender_device: device("phone"),
        client_msg_id: ClientMsgId::parse(client_msg_id).expect("valid client_msg_id"),
        body: Some(Body::parse(body.to_string()).expect("valid body")),
        media: None,
        reply_to: None,
        sent_at: Millis(at),
        system: None,
    }
}

/// A system message recording `event`, done by `actor` at `at` ms; its ids are derived from
/// the conversation, the actor and the time, so they are unique within a case.
pub(crate) fn system(
    conversation: &ConversationId,
    actor: &UserId,
    event: SystemEvent,
    at: i64,
) -> NewMessage {
    let id = format!(
        "sys-{}-{actor}-{at}",
        conversation.to_string().replace(':', "-")
    );
    NewMessage {
        conversation_id: conversation.clone(),
        message_id: MessageId::parse(&id).expect("valid message id"),
        sender_id: actor.clone(),
        sender_device: device("api"),
        client_msg_id: ClientMsgId::parse(&id).expect("valid client_msg_id"),
        body: None,
        media: None,
        reply_to: None,
        sent_at: Millis(at),
        system: Some(event),
    }
}

/// Appends a message that must be new, and answers its stored form.
pub(crate) async fn append_new(s: &Stores, message: NewMessage) -> StoredMessage {
    match s.messages.append(message).await.expect("append") {
        Appended::New(stored) => stored,
        Appended::Duplicate(original) => {
            panic!("expected a new message, got a duplicate of {original:?}")
        }
    }
}

/// Appends `count` text messages from `sender`, client ids `c1`, `c2`, …
pub(crate) async fn append_texts(
    s: &Stores,
    conversation: &ConversationId,
    sender: &UserId,
    count: u64,
) -> Vec<StoredMessage> {
    let mut stored = Vec::new();
    for n in 1..=count {
        let at = 1_000 + i64::try_from(n).expect("small count");
        stored.push(
            append_new(
                s,
                text(
                    conversation,
                    sender,
                    &format!("c{n}"),
                    &format!("message {n}"),
                    at,
                ),
            )
            .await,
        );
    }
    stored
}

pub(crate) fn seqs(messages: &[StoredMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq.get()).collect()
}

pub(crate) fn connection(id: &str, user: &UserId, device_id: &str, expires_at: i64) -> Connection {
    Connection {
        connection_id: ConnectionId::parse(id).expect("valid connection id"),
        user_id: user.clone(),
        device_id: device(device_id),
        connected_at: Millis(1_000),
        expires_at: Millis(expires_at),
    }
}

pub(crate) fn member(
    conversation: &ConversationId,
    user: &UserId,
    role: Role,
    at: i64,
) -> Membership {
    Membership::new(conversation.clone(), user.clone(), role, Millis(at))
}
