//! `recall {conversation_id, seq}`: by its sender within the recall window (a deployment
//! setting, 1 hour by default), or by a group admin for any message. The body and media are
//! erased from storage and the message stays at its seq as a tombstone (`recalled: {by, at}`)
//! in history, `sync` and the conversation list; every member's online devices get
//! `recalled {conversation_id, seq, by}`, the recalling one included (its confirmation), once:
//! from the feed or stream, which sees the change, as for new messages (on AWS this handler
//! pushes a direct conversation's itself, as `send` does). The route answers nothing. Recalling
//! a recalled message is done already: nothing happens again.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chat_domain::events::ServerEvent;
use chat_domain::frames::{RecallCommand, RecallFrame, read_frame};
use chat_domain::{ChatError, Recall, StoredMessage};
use chat_ports::{
    BlobStore, Clock, ConnectionPusher, ConnectionStore, HistoryQuery, MediaStore, MediaUse,
    MediaVerdict, MembershipStore, MessageStore,
};
use tracing::Instrument;

use crate::access::{Access, current_member};
use crate::fanout::{Delivery, Fanout, Skip};
use crate::{Caller, ChatSettings, reply};

pub struct RecallHandler {
    pub messages: Arc<dyn MessageStore>,
    pub memberships: Arc<dyn MembershipStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn ConnectionPusher>,
    pub clock: Arc<dyn Clock>,
    pub settings: ChatSettings,
    /// Whether this handler pushes `recalled` itself (direct conversations on AWS).
    pub delivery: Delivery,
    /// A recalled message's media: no longer downloadable through it, and erased once no
    /// other message carries it.
    pub media: Arc<dyn MediaStore>,
    pub blobs: Arc<dyn BlobStore>,
}

impl RecallHandler {
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let caller = match Caller::from_event(&event) {
            Ok(caller) => caller,
            Err(err) => return reply::error(&err, Some("recall"), None),
        };
        let span = tracing::info_span!("recall", request_id = %caller.request_id,
            connection_id = %caller.connection_id, user_id = %caller.user_id);
        async move {
            let parsed =
                read_frame::<RecallFrame>(event.body.as_deref()).and_then(RecallFrame::parse);
            let result = match parsed {
                Ok(command) => self.recall(&caller, command).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => reply::empty(),
                Err(err) => reply::error(&err, Some("recall"), None),
            }
        }
        .instrument(span)
        .await
    }

    async fn recall(&self, caller: &Caller, command: RecallCommand) -> Result<(), ChatError> {
        let conversation = &command.conversation_id;
        let access = current_member(&*self.memberships, conversation, &caller.user_id).await?;
        let message = self.message(&command, &access).await?;
        if message.recalled.is_some() {
            return Ok(()); // Done already; its devices heard of it then.
        }
        if message.system.is_some() {
            return Err(ChatError::bad_request(
                "a system message cannot be recalled",
            ));
        }
        let now = self.clock.now();
        let own = message.sender_id == caller.user_id;
        let in_window = message.sent_at.plus_ms(self.settings.recall_window_ms) >= now;
        let admin = matches!(&access, Access::Group(m) if m.role.is_admin());
        if !(admin || own && in_window) {
            return Err(ChatError::Forbidden(if own {
                format!(
                    "the recall window ({} minutes) has passed",
                    self.settings.recall_window_ms / 60_000
                )
            } else {
                "only its sender, or a group admin, may recall a message".into()
            }));
        }
        let recall = Recall {
            by: caller.user_id.clone(),
            at: now,
        };
        let tombstone = self
            .messages
            .recall(conversation, command.seq, recall.clone())
            .await?
            .ok_or_else(|| not_found(&command))?;
        let event = recalled(&tombstone, tombstone.recalled.as_ref().unwrap_or(&recall));
        tracing::info!(%conversation, seq = %command.seq, "recalled");
        self.release_media(&message).await?;
        if self.delivery.inline(conversation) {
            let fanout = Fanout {
                connections: &*self.connections,
                memberships: &*self.memberships,
                pusher: &*self.pusher,
                now,
            };
            fanout
                .message_to_conversation(
                    conversation,
                    Some(command.seq),
                    &[],
                    &[event.to_json()],
                    Skip::Nobody,
                )
                .await?;
        }
        Ok(())
    }

    /// Takes the recalled `message` out of its media's uses; a media no message carries any
    /// more is erased from storage (and its record rejected, so that sending it again means
    /// uploading it again).
    async fn release_media(&self, message: &StoredMessage) -> Result<(), ChatError> {
        let Some(media) = &message.media else {
            return Ok(());
        };
        let used = MediaUse {
            conversation_id: message.conversation_id.clone(),
            seq: message.seq,
        };
        let mut ids = vec![media.id.clone()];
        if let Some(poster) = media.thumbnail.as_ref().filter(|t| t.id != media.id) {
            ids.push(poster.id.clone());
        }
        for id in ids {
            self.media.remove_media_use(&id, &used).await?;
            let orphaned = self
                .media
                .media(&id)
                .await?
                .is_some_and(|record| record.uses.is_empty());
            if orphaned {
                self.blobs.delete(&crate::media::upload_key(&id)).await?;
                self.blobs.delete(&crate::media::thumbnail_key(&id)).await?;
                self.media
                    .settle_media(&id, &MediaVerdict::Rejected)
                    .await?;
                tracing::info!(media_id = %id, "recalled media erased");
            }
        }
        Ok(())
    }

    /// The message at the command's seq, as the caller sees it (a member added later does not
    /// see, nor recall, what came before them).
    async fn message(
        &self,
        command: &RecallCommand,
        access: &Access,
    ) -> Result<StoredMessage, ChatError> {
        if access
            .membership()
            .is_some_and(|m| command.seq.get() < m.joined_seq)
        {
            return Err(not_found(command));
        }
        self.messages
            .history(
                &command.conversation_id,
                HistoryQuery::After {
                    after: command.seq.get() - 1,
                    limit: 1,
                },
            )
            .await?
            .messages
            .into_iter()
            .next()
            .filter(|m| m.seq == command.seq)
            .ok_or_else(|| not_found(command))
    }
}

fn not_found(command: &RecallCommand) -> ChatError {
    ChatError::NotFound(format!(
        "no message {} in {}",
        command.seq, command.conversation_id
    ))
}

/// The `recalled` event of a tombstone.
pub(crate) fn recalled(message: &StoredMessage, recall: &Recall) -> ServerEvent {
    ServerEvent::Recalled {
        conversation_id: message.conversation_id.clone(),
        seq: message.seq,
        by: recall.by.clone(),
    }
}
