//! `send`: store a message at its conversation's next seq, answer `ack`, deliver `message` to
//! every other online device of every member.
//!
//! Order of work, and why: the append is the commit point (durable before the `ack`); a retry
//! with the same `client_msg_id` finds the original and gets the same `ack`. Where `send`
//! pushes the message itself ([`Delivery::DirectInline`], direct messages on AWS), it pushes it
//! again on a retry too, because the first attempt may have died between append and fan-out:
//! duplicates on the wire carry the same seq and message id, so clients drop them. Everything
//! else reaches devices from the ordered feed or stream, which holds every stored message
//! whatever became of the request that stored it.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::events::ServerEvent;
use chat_domain::frames::{MarkKind, SendCommand, SendFrame, read_frame};
use chat_domain::{ChatError, MessageId, NewMessage, Seq, StoredMessage, Take, UserId};
use chat_ports::{
    Clock, ConnectionPusher, ConnectionStore, GroupStore, MediaStore, MediaUse, Membership,
    MembershipStore, MessageStore, Role, SendQuota,
};
use tracing::Instrument;

use crate::access::{Access, current_member};
use crate::fanout::{Delivery, Fanout, Skip};
use crate::{Caller, reply};

pub struct SendHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    /// A group's settings (`only_admins_send`).
    pub groups: Arc<dyn GroupStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    /// Which messages `send` pushes itself (the rest come from the feed or stream consumer).
    pub delivery: Delivery,
    /// Which media may be attached, and where each was sent (who may download it).
    pub media: Arc<dyn MediaStore>,
    /// How fast each user may send ([`crate::ChatSettings::send_rate`]).
    pub quota: Arc<dyn SendQuota>,
}

impl SendHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => return reply::error(&err, Some("send"), None),
        };
        let span = tracing::info_span!("send", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id);
        async move {
            let frame: SendFrame = match read_frame(event.body.as_deref()) {
                Ok(frame) => frame,
                Err(err) => return reply::error(&err, Some("send"), None),
            };
            let client_msg_id = frame.client_msg_id().map(str::to_string);
            match self.send(&caller, frame).await {
                Ok(ack) => reply::event(&ack),
                Err(err) => reply::error(&err, Some("send"), client_msg_id.as_deref()),
            }
        }
        .instrument(span)
        .await
    }

    async fn send(&self, caller: &Caller, frame: SendFrame) -> Result<ServerEvent, ChatError> {
        let command = frame.parse(&caller.user_id)?;
        // Before anything is stored: a refused send leaves nothing behind, and the client's
        // retry (same `client_msg_id`) after the pause is an ordinary send.
        self.ensure_within_rate(&caller.user_id).await?;
        let access = current_member(
            &*self.memberships,
            &command.conversation_id,
            &caller.user_id,
        )
        .await?;
        self.ensure_may_send(&command.conversation_id, &access)
            .await?;
        let draft = self.draft(caller, command).await?;
        let appended = self.messages.append(draft).await?;
        let fresh = appended.is_new();
        if fresh {
            chat_metrics::count(chat_metrics::names::MESSAGES_STORED, 1);
        }
        let message = appended.into_message();
        tracing::info!(conversation = %message.conversation_id, seq = %message.seq, fresh, "stored");
        // Before anyone hears of the message: its media becomes theirs to download. Also on a
        // retry (idempotent), in case the first attempt died right after the append.
        self.record_media_use(&message).await?;

        // The sender has seen their own message: it never counts as unread for them (and tells
        // nobody: clients send receipts for what they show, which is what ticks are).
        self.mark_own_message(caller, &message, fresh).await?;
        // The message is durable: delivery problems are logged, never turned into an error for
        // a message the client would then think unsent (`sync` covers what a push missed).
        if let Err(err) = self.deliver(caller, &message).await {
            tracing::warn!(error = %err, "fan-out incomplete; recipients get it through sync");
        }

        Ok(ServerEvent::Ack {
            client_msg_id: message.client_msg_id,
            conversation_id: message.conversation_id,
            seq: message.seq,
            message_id: message.message_id,
            sent_at: message.sent_at,
        })
    }

    /// Takes one message from the sender's allowance; `rate_limited` when it is spent. A
    /// failure to count (the shared count throttled, say) lets the message through: the limit
    /// protects the service from abuse, and must not turn a store hiccup into lost sends.
    async fn ensure_within_rate(&self, user: &UserId) -> Result<(), ChatError> {
        let take = match self.quota.take_send(user, self.clock.now()).await {
            Ok(take) => take,
            Err(err) => {
                tracing::warn!(error = %err, "send quota unavailable; not limiting this send");
                return Ok(());
            }
        };
        match take {
            Take::Granted => Ok(()),
            Take::Refused { retry_after_ms } => {
                chat_metrics::count(chat_metrics::names::SENDS_RATE_LIMITED, 1);
                Err(ChatError::RateLimited {
                    message: format!(
                        "sending too fast: try again in {retry_after_ms} ms (the message was not stored)"
                    ),
                    retry_after_ms,
                })
            }
        }
    }

    /// In a group with `only_admins_send`, only admins may send.
    async fn ensure_may_send(
        &self,
        conversation: &chat_domain::ConversationId,
        access: &Access,
    ) -> Result<(), ChatError> {
        if access.is_admin() {
            return Ok(());
        }
        let only_admins = self
            .groups
            .group(conversation)
            .await?
            .is_some_and(|group| group.settings.only_admins_send);
        if only_admins {
            return Err(ChatError::Forbidden(
                "only admins may send messages to this group".into(),
            ));
        }
        Ok(())
    }

    async fn draft(&self, caller: &Caller, command: SendCommand) -> Result<NewMessage, ChatError> {
        let media =
            crate::media::attach(&*self.media, &*self.memberships, &command, &caller.user_id)
                .await?;
        let now = self.clock.now();
        Ok(NewMessage {
            conversation_id: command.conversation_id,
            message_id: MessageId::generate(now),
            sender_id: caller.user_id.clone(),
            sender_device: caller.device_id.clone(),
            client_msg_id: command.client_msg_id,
            body: command.body,
            media,
            reply_to: command.reply_to,
            sent_at: now,
            system: None,
        })
    }

    /// Notes that `message` carries its media (and a video's poster).
    async fn record_media_use(&self, message: &StoredMessage) -> Result<(), ChatError> {
        let Some(media) = &message.media else {
            return Ok(());
        };
        let used = MediaUse {
            conversation_id: message.conversation_id.clone(),
            seq: message.seq,
        };
        self.media.add_media_use(&media.id, &used).await?;
        if let Some(poster) = media.thumbnail.as_ref().filter(|t| t.id != media.id) {
            self.media.add_media_use(&poster.id, &used).await?;
        }
        Ok(())
    }

    /// In a group, the sender's read mark moves up to their message. Also on a retry: the
    /// first attempt may have failed right here, after the append (marks only move up, so
    /// repeating it is harmless).
    ///
    /// In a direct conversation nothing is written: the conversation's head knows each
    /// member's newest own message, and reads count those as read
    /// (`ConversationHead::last_sent_by`), which saves a mark write (and its index entry) on
    /// every message. What is left is opening the conversation, which lists it for both
    /// users: on its first message, and again on a retry, in case the first attempt failed
    /// between its append and the opening (a retried send of an unacknowledged message is the
    /// client's part of the contract). One key read tells an unopened conversation.
    async fn mark_own_message(
        &self,
        caller: &Caller,
        message: &StoredMessage,
        fresh: bool,
    ) -> Result<(), ChatError> {
        if message.conversation_id.direct_members().is_none() {
            self.advance_own_mark(caller, message).await?;
            return Ok(());
        }
        let may_be_unopened = !fresh || message.seq == Seq::FIRST;
        if may_be_unopened && !self.is_member(message, &caller.user_id).await? {
            self.open_direct_conversation(message, &caller.user_id)
                .await?;
        }
        Ok(())
    }

    async fn advance_own_mark(
        &self,
        caller: &Caller,
        message: &StoredMessage,
    ) -> Result<Option<chat_ports::MarkMove>, ChatError> {
        self.memberships
            .advance_mark(
                &message.conversation_id,
                &caller.user_id,
                MarkKind::Read,
                message.seq,
            )
            .await
    }

    /// Whether `user` is a member of `message`'s conversation (one key read).
    async fn is_member(&self, message: &StoredMessage, user: &UserId) -> Result<bool, ChatError> {
        let membership = self
            .memberships
            .membership(&message.conversation_id, user)
            .await?;
        Ok(membership.is_some())
    }

    /// A direct conversation exists implicitly; its first message lists it for both users.
    /// The other user's membership is written before the sender's, so "the sender is a member"
    /// implies "so is the recipient", and the sender's missing membership is the one signal
    /// `send` needs to heal a half-opened conversation. Idempotent.
    async fn open_direct_conversation(
        &self,
        message: &StoredMessage,
        sender: &UserId,
    ) -> Result<(), ChatError> {
        let Some(pair) = message.conversation_id.direct_members() else {
            return Ok(());
        };
        let membership = |user: &UserId| {
            Membership::new(
                message.conversation_id.clone(),
                user.clone(),
                Role::Member,
                message.sent_at,
            )
        };
        for user in pair.iter().filter(|u| **u != sender) {
            self.memberships.add_members(&[membership(user)]).await?;
        }
        self.memberships.add_members(&[membership(sender)]).await
    }

    /// `message` to every member's online devices but the caller's own connection, when
    /// `send` is the one to push it (see [`Delivery`]).
    async fn deliver(&self, caller: &Caller, message: &StoredMessage) -> Result<(), ChatError> {
        if !self.delivery.inline(&message.conversation_id) {
            return Ok(()); // The feed or stream consumer pushes it, in seq order.
        }
        let frame = ServerEvent::message(message.clone()).to_json();
        let tally = self
            .fanout()
            .message_to_conversation(
                &message.conversation_id,
                Some(message.seq),
                &[],
                &[frame],
                Skip::Connection(&caller.connection_id),
            )
            .await?;
        tracing::debug!(?tally, "fanned out");
        Ok(())
    }

    fn fanout(&self) -> Fanout<'_> {
        Fanout {
            connections: &*self.connections,
            memberships: &*self.memberships,
            pusher: &*self.pusher,
            now: self.clock.now(),
        }
    }
}
