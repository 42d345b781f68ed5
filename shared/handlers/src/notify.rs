//! Push notifications for new messages, from the stream consumer: every member device with no
//! live connection of its own gets one, through the push provider (SNS platform endpoints on
//! AWS). What it says follows the contract: title = the sender's name (in a group "Sender ·
//! Group"), text = the start of the body or "Photo" / "Video" / "Audio" / "Document" ("New
//! message" only when the recipient turned previews off), badge = their unread total,
//! collapsed per conversation.
//!
//! Never to the sender, never to a member who muted the conversation, never about a system
//! message. **At most once, and coalesced:** before notifying a user, the [`PushLedger`] is
//! claimed for (user, conversation, seq) with one conditional write; it refuses a seq already
//! covered (a stream batch delivered twice notifies nobody twice) and any claim within the
//! quiet window after the last one (a burst is one notification). Within one stream batch
//! the consumer notifies only the latest message of each conversation, so the notification a
//! burst leaves on the phone is about its newest message. A provider failure is logged, never
//! retried: a phone learns the rest from `sync` when the app opens.

use std::collections::HashSet;
use std::sync::Arc;

use chat_domain::{ChatError, ConversationId, DeviceId, MediaKind, StoredMessage, UserId};
use chat_ports::{
    Clock, ConnectionStore, DeviceStore, MembershipStore, MessageStore, Notification,
    NotifyOutcome, PREVIEW_CHARS, PushLedger, PushNotifier, PushTarget, UserStore,
};
use futures_util::StreamExt;

use crate::ChatSettings;
use crate::fanout::MEMBER_PAGE;
use crate::summaries::summaries_of;

/// How many users of one page are notified at once.
const USERS_AT_ONCE: usize = 16;

/// What a notification says when the recipient turned previews off.
const NO_PREVIEW: &str = "New message";

/// The ports push notification uses.
pub struct Notifier {
    pub memberships: Arc<dyn MembershipStore>,
    /// Conversation heads: a group's name, and every conversation's unread count (the badge).
    pub messages: Arc<dyn MessageStore>,
    /// The sender's display name.
    pub users: Arc<dyn UserStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub devices: Arc<dyn DeviceStore>,
    pub ledger: Arc<dyn PushLedger>,
    pub push: Arc<dyn PushNotifier>,
    pub clock: Arc<dyn Clock>,
    pub settings: ChatSettings,
}

/// What became of one message's notifications.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushTally {
    /// Notifications the provider accepted.
    pub sent: usize,
    /// Users the ledger held back (already notified of it, or within the quiet window).
    pub coalesced: usize,
    /// Endpoints the provider reported disabled (removed).
    pub disabled: usize,
    pub failed: usize,
}

impl PushTally {
    fn add(&mut self, other: PushTally) {
        self.sent += other.sent;
        self.coalesced += other.coalesced;
        self.disabled += other.disabled;
        self.failed += other.failed;
    }
}

/// The title and text of one message's notifications (the same for every recipient but the
/// preview setting).
struct Wording {
    title: String,
    text: String,
}

impl Notifier {
    /// Notifies the offline devices of `message`'s recipients. Fails only when the members
    /// cannot be read (worth a retry of the record: the ledger keeps it at most once).
    pub async fn message(&self, message: &StoredMessage) -> Result<PushTally, ChatError> {
        if message.system.is_some() || message.recalled.is_some() {
            return Ok(PushTally::default());
        }
        let now = self.clock.now();
        let conversation = &message.conversation_id;
        let mut tally = PushTally::default();
        let mut wording = None;
        let mut after: Option<UserId> = None;
        loop {
            let (recipients, more) = self.recipients_page(message, after.as_ref()).await?;
            after = more;
            let targets = if recipients.is_empty() {
                Vec::new()
            } else {
                self.devices.push_targets(&recipients).await?
            };
            let targets = self.unmuted_direct(message, targets).await?;
            if !targets.is_empty() {
                let wording = match &wording {
                    Some(wording) => wording,
                    None => wording.insert(self.wording(message).await),
                };
                let live = self.live_devices(&targets, now).await;
                let jobs: Vec<_> = targets
                    .iter()
                    .map(|target| self.notify_user(target, &live, message, wording))
                    .collect();
                let outcomes: Vec<PushTally> = futures_util::stream::iter(jobs)
                    .buffer_unordered(USERS_AT_ONCE)
                    .collect()
                    .await;
                for outcome in outcomes {
                    tally.add(outcome);
                }
            }
            if after.is_none() {
                break;
            }
        }
        chat_metrics::count(chat_metrics::names::PUSHES, tally.sent as u64);
        chat_metrics::count(
            chat_metrics::names::PUSHES_COALESCED,
            tally.coalesced as u64,
        );
        if tally != PushTally::default() {
            tracing::info!(%conversation, seq = %message.seq, sent = tally.sent,
                coalesced = tally.coalesced, disabled = tally.disabled, failed = tally.failed,
                "push notifications");
        }
        Ok(tally)
    }

    /// One page of who may be notified: members but the sender, who may see the message and
    /// did not mute the conversation; and where the next page starts (`None`: last page).
    async fn recipients_page(
        &self,
        message: &StoredMessage,
        after: Option<&UserId>,
    ) -> Result<(Vec<UserId>, Option<UserId>), ChatError> {
        let now = self.clock.now();
        let conversation = &message.conversation_id;
        if let Some(pair) = conversation.direct_members() {
            // Muting is looked at once the recipient is known to have a device
            // (`unmuted_direct`): most messages go to someone without one, or online.
            let users = pair
                .into_iter()
                .filter(|u| **u != message.sender_id)
                .cloned()
                .collect();
            return Ok((users, None));
        }
        let page = self
            .memberships
            .members(conversation, after, MEMBER_PAGE)
            .await?;
        let next = (page.len() >= MEMBER_PAGE as usize)
            .then(|| page.last().map(|m| m.user_id.clone()))
            .flatten();
        let users = page
            .into_iter()
            .filter(|m| m.user_id != message.sender_id)
            .filter(|m| m.joined_seq <= message.seq.get())
            .filter(|m| !m.is_muted(now))
            .map(|m| m.user_id)
            .collect();
        Ok((users, next))
    }

    /// In a direct conversation, `targets` without the recipient who muted it (a group's page
    /// of members came without those already).
    async fn unmuted_direct(
        &self,
        message: &StoredMessage,
        targets: Vec<PushTarget>,
    ) -> Result<Vec<PushTarget>, ChatError> {
        let conversation = &message.conversation_id;
        if conversation.direct_members().is_none() {
            return Ok(targets);
        }
        let now = self.clock.now();
        let mut unmuted = Vec::with_capacity(targets.len());
        for target in targets {
            let muted = self
                .memberships
                .membership(conversation, &target.user_id)
                .await?
                .is_some_and(|m| m.is_muted(now));
            if !muted {
                unmuted.push(target);
            }
        }
        Ok(unmuted)
    }

    /// The devices among `targets` that have a live connection (those get the message on the
    /// socket, not as a notification). A failed lookup counts nobody as live: a notification
    /// too many beats a message nobody hears of.
    async fn live_devices(
        &self,
        targets: &[PushTarget],
        now: chat_domain::Millis,
    ) -> HashSet<(UserId, DeviceId)> {
        let users: Vec<UserId> = targets.iter().map(|t| t.user_id.clone()).collect();
        match self.connections.connections_of_users(&users, now).await {
            Ok(connections) => connections
                .into_iter()
                .map(|c| (c.user_id, c.device_id))
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "listing connections for push failed");
                HashSet::new()
            }
        }
    }

    async fn notify_user(
        &self,
        target: &PushTarget,
        live: &HashSet<(UserId, DeviceId)>,
        message: &StoredMessage,
        wording: &Wording,
    ) -> PushTally {
        let mut tally = PushTally::default();
        let offline: Vec<_> = target
            .endpoints
            .iter()
            .filter(|e| !live.contains(&(e.user_id.clone(), e.device_id.clone())))
            .collect();
        if offline.is_empty() {
            return tally;
        }
        let conversation = &message.conversation_id;
        let now = self.clock.now();
        match self
            .ledger
            .claim_push(
                &target.user_id,
                conversation,
                message.seq,
                now,
                self.settings.push_quiet_ms,
            )
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tally.coalesced += 1;
                return tally;
            }
            Err(err) => {
                tracing::warn!(user = %target.user_id, error = %err, "push ledger failed");
                tally.failed += 1;
                return tally;
            }
        }
        let notification = Notification {
            title: wording.title.clone(),
            text: if target.previews {
                wording.text.clone()
            } else {
                NO_PREVIEW.to_string()
            },
            conversation_id: conversation.to_string(),
            seq: message.seq.get(),
            badge: self.badge(&target.user_id).await,
            collapse_key: conversation.to_string(),
            ttl_secs: self.settings.push_ttl_secs,
        };
        for endpoint in offline {
            match self.push.notify(endpoint, &notification).await {
                Ok(NotifyOutcome::Sent) => tally.sent += 1,
                Ok(NotifyOutcome::EndpointDisabled) => {
                    tally.disabled += 1;
                    tracing::info!(user = %endpoint.user_id, device = %endpoint.device_id,
                        "push endpoint disabled; removed");
                    if let Err(err) = self
                        .devices
                        .remove_device(&endpoint.user_id, &endpoint.device_id)
                        .await
                    {
                        tracing::warn!(error = %err, "removing a disabled device failed");
                    }
                }
                Err(err) => {
                    tally.failed += 1;
                    tracing::warn!(user = %endpoint.user_id, error = %err, "push failed");
                }
            }
        }
        tally
    }

    /// The recipient's unread messages over all their conversations (0 when unreadable: a
    /// badge is a hint, never worth failing a notification for).
    async fn badge(&self, user: &UserId) -> u64 {
        match summaries_of(&*self.memberships, &*self.messages, user).await {
            Ok(list) => list.iter().map(|c| c.summary.unread).sum(),
            Err(err) => {
                tracing::warn!(%user, error = %err, "reading the badge failed");
                0
            }
        }
    }

    async fn wording(&self, message: &StoredMessage) -> Wording {
        let sender = match self.users.user(&message.sender_id).await {
            Ok(profile) => profile
                .and_then(|p| p.display_name)
                .unwrap_or_else(|| message.sender_id.to_string()),
            Err(_) => message.sender_id.to_string(),
        };
        let title = match self.group_name(&message.conversation_id).await {
            Some(group) => format!("{sender} · {group}"),
            None => sender,
        };
        Wording {
            title,
            text: text_of(message),
        }
    }

    async fn group_name(&self, conversation: &ConversationId) -> Option<String> {
        conversation.direct_members().is_none().then_some(())?;
        let heads = self
            .messages
            .heads(std::slice::from_ref(conversation))
            .await
            .ok()?;
        heads.into_iter().next().and_then(|h| h.name)
    }
}

/// The text of a message's notification: the start of its body, else what its media is.
pub(crate) fn text_of(message: &StoredMessage) -> String {
    if let Some(body) = &message.body {
        let text: String = body.as_str().chars().take(PREVIEW_CHARS).collect();
        return text;
    }
    let kind = message
        .media
        .as_ref()
        .and_then(|m| chat_domain::ContentType::parse(&m.content_type).ok())
        .map_or(MediaKind::Document, |t| t.kind());
    kind.label().to_string()
}
