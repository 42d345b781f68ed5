//! Fan-out: frames to every open connection of some users, pruning the connections API Gateway
//! reports gone (`410`). Delivery is at-least-once: a failed post is logged and left to `sync`
//! on reconnect; it never fails the request that caused it, because the message itself is
//! already durably stored.
//!
//! Shaped for a 10,000-member group: members are read a page of [`MEMBER_PAGE`] at a time, the
//! page's live connections with one store request ([`ConnectionStore::connections_of_users`]),
//! never one per member, and at most [`POSTS_AT_ONCE`] connections are posted to at once (API
//! Gateway's request quota is the account's, shared with every other API). Throttled posts are
//! retried inside the pusher with backoff; they are never dropped nor doubled by this code. The
//! frames of one fan-out reach each connection one after another, in order.

use chat_domain::{ChatError, ConnectionId, ConversationId, DeviceId, Millis, Seq, UserId};
use chat_metrics::names;
use chat_ports::{Connection, ConnectionPusher, ConnectionStore, MembershipStore, PostOutcome};
use futures_util::StreamExt;

/// How many group members one fan-out page reads (also the most users per connection lookup).
pub(crate) const MEMBER_PAGE: u32 = 100;

/// How many connections are posted to at once.
pub(crate) const POSTS_AT_ONCE: usize = 64;

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
    /// Nobody (an HTTP caller has no socket to answer on).
    Nobody,
    /// The caller's connection (it gets the route response).
    Connection(&'a ConnectionId),
    /// Every connection of the sending device (the stream consumer knows no connection).
    Device(&'a UserId, &'a DeviceId),
    /// Every connection of a user (who is typing needs no `typing` of their own).
    User(&'a UserId),
}

impl Skip<'_> {
    fn skips(&self, connection: &Connection) -> bool {
        match self {
            Skip::Nobody => false,
            Skip::Connection(id) => connection.connection_id == **id,
            Skip::Device(user, device) => {
                connection.user_id == **user && connection.device_id == **device
            }
            Skip::User(user) => connection.user_id == **user,
        }
    }
}

/// What became of a fan-out's posts, by connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Connections that got every frame.
    pub delivered: usize,
    /// Connections found gone (410) and pruned.
    pub gone: usize,
    /// Connections a post failed for (logged; they catch up with `sync`).
    pub failed: usize,
}

impl Tally {
    /// Every connection posted to, whatever became of it.
    fn reached(&self) -> usize {
        self.delivered + self.gone + self.failed
    }

    fn add(&mut self, other: Tally) {
        self.delivered += other.delivered;
        self.gone += other.gone;
        self.failed += other.failed;
    }
}

/// The ports a fan-out uses, borrowed from the handler that runs it.
pub(crate) struct Fanout<'a> {
    pub connections: &'a dyn ConnectionStore,
    pub memberships: &'a dyn MembershipStore,
    pub pusher: &'a dyn ConnectionPusher,
    pub now: Millis,
}

impl Fanout<'_> {
    /// `frames`, in order, to every online device of every current member of `conversation`
    /// (both users of a direct one) who may see the message at `about` (a member added after
    /// it may not: the fan-out can run after the addition), and of `also` (e.g. whom a system
    /// message just removed), but `skip`. Fails only when the members cannot be read (worth a
    /// retry). Measured: [`names::FANOUT_CONNECTIONS`] and [`names::FANOUT_MS`].
    pub(crate) async fn message_to_conversation(
        &self,
        conversation: &ConversationId,
        about: Option<Seq>,
        also: &[UserId],
        frames: &[String],
        skip: Skip<'_>,
    ) -> Result<Tally, ChatError> {
        let started = std::time::Instant::now();
        let tally = self
            .to_conversation(conversation, about, also, frames, skip)
            .await?;
        chat_metrics::record(names::FANOUT_CONNECTIONS, tally.reached() as f64);
        chat_metrics::record(names::FANOUT_MS, started.elapsed().as_secs_f64() * 1000.0);
        Ok(tally)
    }

    /// [`Fanout::message_to_conversation`] without the fan-out metrics (typing, which is not
    /// a message and would drown them).
    pub(crate) async fn to_conversation(
        &self,
        conversation: &ConversationId,
        about: Option<Seq>,
        also: &[UserId],
        frames: &[String],
        skip: Skip<'_>,
    ) -> Result<Tally, ChatError> {
        if let Some(pair) = conversation.direct_members() {
            let mut users: Vec<UserId> = pair.into_iter().cloned().collect();
            users.extend(also.iter().cloned());
            return Ok(self.to_users(&users, frames, skip).await);
        }
        let mut tally = self.to_users(also, frames, skip).await;
        let mut after: Option<UserId> = None;
        loop {
            let page = self
                .memberships
                .members(conversation, after.as_ref(), MEMBER_PAGE)
                .await?;
            let users: Vec<UserId> = page
                .iter()
                .filter(|m| about.is_none_or(|seq| m.joined_seq <= seq.get()))
                .map(|m| m.user_id.clone())
                .filter(|user| !also.contains(user))
                .collect();
            tally.add(self.to_users(&users, frames, skip).await);
            if page.len() < MEMBER_PAGE as usize {
                return Ok(tally);
            }
            after = page.last().map(|m| m.user_id.clone());
        }
    }

    /// `frames`, in order, to every connection of `users` but `skip`: one connection lookup per
    /// [`MEMBER_PAGE`] users, at most [`POSTS_AT_ONCE`] connections at a time.
    pub(crate) async fn to_users(
        &self,
        users: &[UserId],
        frames: &[String],
        skip: Skip<'_>,
    ) -> Tally {
        let mut tally = Tally::default();
        for chunk in users.chunks(MEMBER_PAGE as usize) {
            let targets = match self.connections.connections_of_users(chunk, self.now).await {
                Ok(list) => list,
                Err(err) => {
                    // The message is stored; these devices catch up with `sync`.
                    tracing::warn!(users = chunk.len(), error = %err, "listing connections failed");
                    continue;
                }
            };
            let posts: Vec<_> = targets
                .iter()
                .filter(|c| !skip.skips(c))
                .map(|target| self.post_all(target, frames))
                .collect();
            let outcomes: Vec<Tally> = futures_util::stream::iter(posts)
                .buffer_unordered(POSTS_AT_ONCE)
                .collect()
                .await;
            for outcome in outcomes {
                tally.add(outcome);
            }
        }
        tally
    }

    /// Every frame to one connection, in order; stops at the first that does not arrive.
    async fn post_all(&self, target: &Connection, frames: &[String]) -> Tally {
        for frame in frames {
            chat_metrics::count(names::POSTS, 1);
            match self
                .pusher
                .post(&target.connection_id, frame.as_bytes())
                .await
            {
                Ok(PostOutcome::Delivered) => {}
                Ok(PostOutcome::Gone) => {
                    chat_metrics::count(names::GONE_PRUNED, 1);
                    tracing::debug!(connection = %target.connection_id, "pruning a gone connection");
                    if let Err(err) = self
                        .connections
                        .remove_connection(&target.user_id, &target.connection_id, self.now)
                        .await
                    {
                        tracing::warn!(error = %err, "pruning a gone connection failed");
                    }
                    return Tally {
                        gone: 1,
                        ..Tally::default()
                    };
                }
                Err(err) => {
                    chat_metrics::count(names::POST_FAILURES, 1);
                    tracing::warn!(connection = %target.connection_id, error = %err, "post failed");
                    return Tally {
                        failed: 1,
                        ..Tally::default()
                    };
                }
            }
        }
        Tally {
            delivered: 1,
            ..Tally::default()
        }
    }
}
