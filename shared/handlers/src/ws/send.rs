//! `send`: store a message at its conversation's next seq, answer `ack`, deliver `message` to
//! every other online device of every member.
//!
//! Order of work, and why: the append is the commit point (durable before the `ack`); a retry
//! with the same `client_msg_id` finds the original and gets the same `ack`. Delivery runs
//! again on a retry too, because the first attempt may have died between append and fan-out:
//! duplicates on the wire carry the same seq and message id, so clients drop them.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::events::ServerEvent;
use chat_domain::frames::{MarkKind, SendCommand, SendFrame, read_frame};
use chat_domain::{ChatError, MessageId, NewMessage, Seq, StoredMessage};
use chat_ports::{
    Clock, ConnectionPusher, ConnectionStore, Membership, MembershipStore, MessageStore, Role,
};
use tracing::Instrument;

use crate::fanout::{GroupFanout, Skip, push_message};
use crate::ws::ensure_member;
use crate::{Caller, reply};

pub struct SendHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    /// Whether group messages are pushed here or by the stream consumer.
    pub group_fanout: GroupFanout,
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
        ensure_member(
            &*self.memberships,
            &command.conversation_id,
            &caller.user_id,
        )
        .await?;
        let appended = self.messages.append(self.draft(caller, command)?).await?;
        let fresh = appended.is_new();
        let message = appended.into_message();
        tracing::info!(conversation = %message.conversation_id, seq = %message.seq, fresh, "stored");

        if message.seq == Seq::FIRST {
            self.open_direct_conversation(&message).await?;
        }
        // The sender has seen their own message: it never counts as unread for them. Also on a
        // retry: the first attempt may have failed right here, after the append (marks only move
        // up, so repeating it is harmless).
        self.memberships
            .advance_mark(
                &message.conversation_id,
                &caller.user_id,
                MarkKind::Read,
                message.seq,
            )
            .await?;
        self.deliver(caller, &message).await?;

        Ok(ServerEvent::Ack {
            client_msg_id: message.client_msg_id,
            conversation_id: message.conversation_id,
            seq: message.seq,
            message_id: message.message_id,
            sent_at: message.sent_at,
        })
    }

    fn draft(&self, caller: &Caller, command: SendCommand) -> Result<NewMessage, ChatError> {
        if command.media_id.is_some() {
            return Err(ChatError::bad_request(
                "media messages are not enabled on this server yet; send a `body`",
            ));
        }
        let now = self.clock.now();
        Ok(NewMessage {
            conversation_id: command.conversation_id,
            message_id: MessageId::generate(now),
            sender_id: caller.user_id.clone(),
            sender_device: caller.device_id.clone(),
            client_msg_id: command.client_msg_id,
            body: command.body,
            media: None,
            reply_to: command.reply_to,
            sent_at: now,
        })
    }

    /// A direct conversation exists implicitly; its first message lists it for both users.
    /// Idempotent, and re-run by a retried first message, so a crash in between heals.
    async fn open_direct_conversation(&self, message: &StoredMessage) -> Result<(), ChatError> {
        let Some(pair) = message.conversation_id.direct_members() else {
            return Ok(());
        };
        let members: Vec<Membership> = pair
            .iter()
            .map(|user| {
                Membership::new(
                    message.conversation_id.clone(),
                    (*user).clone(),
                    Role::Member,
                    message.sent_at,
                )
            })
            .collect();
        self.memberships.add_members(&members).await
    }

    /// `message` to every member's online devices but the caller's own connection.
    async fn deliver(&self, caller: &Caller, message: &StoredMessage) -> Result<(), ChatError> {
        if self.group_fanout == GroupFanout::Stream
            && message.conversation_id.direct_members().is_none()
        {
            return Ok(()); // The stream consumer fans it out.
        }
        let delivered = push_message(
            &*self.connections,
            &*self.memberships,
            &*self.pusher,
            message,
            Skip::Connection(&caller.connection_id),
            self.clock.now(),
        )
        .await?;
        tracing::debug!(delivered, "fanned out");
        Ok(())
    }
}
