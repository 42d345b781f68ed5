//! Fan-out: one frame to every open connection of some users, pruning the connections API
//! Gateway reports gone (`410`). Delivery is at-least-once: a failed post is logged and left to
//! `sync` on reconnect; it never fails the request that caused it, because the message itself
//! is already durably stored.

use chat_domain::events::{MessageView, ServerEvent};
use chat_domain::{
    ChatError, ConnectionId, ConversationId, DeviceId, Millis, StoredMessage, UserId,
};
use chat_ports::{Connection, ConnectionPusher, ConnectionStore, MembershipStore, PostOutcome};
use futures_util::future::join_all;

/// How many group members one fan-out page reads.
const MEMBER_PAGE: u32 = 100;

/// Who pushes a stored message to its members' devices, and so which order they see.
///
/// Every device must see a conversation's messages in `seq` order. Requests answered by one
/// group commit (or concurrent Lambda invocations) race each other to the sockets, so order
/// comes only from a consumer that takes a conversation's messages one after another in the
/// order they were stored: a change feed or stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The consumer of an ordered change feed (the [`crate::StreamHandler`]) pushes every
    /// message, direct and group, in seq order; `send` pushes nothing. `chat-local` on the
    /// embedded store, whose writer publishes each append after it commits.
    Feed,
    /// `send` pushes direct messages itself, for the lowest latency (two concurrent `send`
    /// invocations may post them out of order: clients reorder by seq and fill gaps with
    /// `sync`); the messages table's stream consumer pushes group messages in the stream's
    /// order, so that a 10,000-member group never holds up the sender's `ack`. AWS, and
    /// `chat-local --backend aws`.
    DirectInline,
}

impl Delivery {
    /// Whether `send` pushes this conversation's messages itself (else the stream does).
    pub(crate) fn inline(self, conversation: &ConversationId) -> bool {
        self == Delivery::DirectInline && conversation.direct_members().is_some()
    }
}

/// Whose connections a fan-out leaves out: the device that caused it already has its answer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Skip<'a> {
    /// The caller's connection (it gets the route response).
    Connection(&'a ConnectionId),
    /// Every connection of the sending device (the stream consumer knows no connection).
    Device(&'a UserId, &'a DeviceId),
}

impl Skip<'_> {
    fn skips(&self, connection: &Connection) -> bool {
        match self {
            Skip::Connection(id) => connection.connection_id == **id,
            Skip::Device(user, device) => {
                connection.user_id == **user && connection.device_id == **device
            }
        }
    }
}

/// Pushes `message` to every online device of every member of its conversation except `skip`,
/// reading group members a page at a time. Answers how many posts were delivered.
pub(crate) async fn push_message(
    connections: &dyn ConnectionStore,
    memberships: &dyn MembershipStore,
    pusher: &dyn ConnectionPusher,
    message: &StoredMessage,
    skip: Skip<'_>,
    now: Millis,
) -> Result<usize, ChatError> {
    let payload = ServerEvent::Message(MessageView::from(message.clone())).to_json();
    if let Some(pair) = message.conversation_id.direct_members() {
        let users: Vec<&UserId> = pair.to_vec();
        return Ok(push_to_users(connections, pusher, &users, payload.as_bytes(), skip, now).await);
    }
    let mut delivered = 0;
    let mut after: Option<UserId> = None;
    loop {
        let page = memberships
            .members(&message.conversation_id, after.as_ref(), MEMBER_PAGE)
            .await?;
        let users: Vec<&UserId> = page.iter().map(|m| &m.user_id).collect();
        delivered +=
            push_to_users(connections, pusher, &users, payload.as_bytes(), skip, now).await;
        if page.len() < MEMBER_PAGE as usize {
            return Ok(delivered);
        }
        after = page.last().map(|m| m.user_id.clone());
    }
}

/// Sends `payload` to every connection of `users` except `skip`. Answers how many posts were
/// delivered.
pub(crate) async fn push_to_users(
    connections: &dyn ConnectionStore,
    pusher: &dyn ConnectionPusher,
    users: &[&UserId],
    payload: &[u8],
    skip: Skip<'_>,
    now: Millis,
) -> usize {
    let per_user = users.iter().map(|user| async move {
        match connections.connections_of(user, now).await {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(user = %user, error = %err, "listing connections failed");
                Vec::new()
            }
        }
    });
    let targets: Vec<_> = join_all(per_user)
        .await
        .into_iter()
        .flatten()
        .filter(|c| !skip.skips(c))
        .collect();

    let posts = targets.iter().map(|target| async move {
        match pusher.post(&target.connection_id, payload).await {
            Ok(PostOutcome::Delivered) => true,
            Ok(PostOutcome::Gone) => {
                tracing::debug!(connection = %target.connection_id, "pruning a gone connection");
                if let Err(err) = connections
                    .remove_connection(&target.user_id, &target.connection_id)
                    .await
                {
                    tracing::warn!(error = %err, "pruning a gone connection failed");
                }
                false
            }
            Err(err) => {
                tracing::warn!(connection = %target.connection_id, error = %err, "post failed");
                false
            }
        }
    });
    join_all(posts).await.into_iter().filter(|ok| *ok).count()
}
