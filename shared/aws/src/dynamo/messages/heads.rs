//! `heads`: what a conversation list shows of each conversation.
//!
//! A group's head is its head item on the conversations table (name, `last_seq`, preview),
//! read by `BatchGetItem` through `batch.rs` (100 keys a request, deduplicated, unprocessed
//! keys asked again). A direct conversation has no head item to keep up (`direct.rs`): its head
//! is its newest message, one `Query` each, a few at a time. Both are strongly consistent, so a
//! head reflects every acknowledged append, and both cost one read unit a conversation (a
//! `BatchGetItem` is billed per item, a `Query` per page).

use std::collections::{HashMap, HashSet};

use chat_domain::ConversationId;
use chat_ports::{ConversationHead, PREVIEW_CHARS, PortResult};
use futures_util::{StreamExt, TryStreamExt, stream};

use super::direct::Read;
use super::items::{HeadItem, MessageItem};
use super::keys;
use crate::dynamo::DynamoStore;
use crate::dynamo::codec::from_items;

/// Direct conversations' newest messages read at once: a conversation list of a few hundred
/// takes a few round trips, without a burst that a small table's partition would throttle.
const NEWEST_AT_ONCE: usize = 16;

impl DynamoStore {
    pub(super) async fn conversation_heads(
        &self,
        conversations: &[ConversationId],
    ) -> PortResult<Vec<ConversationHead>> {
        let mut seen = HashSet::new();
        let wanted: Vec<&ConversationId> =
            conversations.iter().filter(|c| seen.insert(*c)).collect();
        let (direct, groups): (Vec<&ConversationId>, Vec<&ConversationId>) =
            wanted.iter().partition(|c| c.direct_members().is_some());
        let mut found = self.group_heads(&groups).await?;
        found.extend(self.direct_heads(&direct).await?);
        // In the order asked, each once.
        Ok(wanted.into_iter().filter_map(|c| found.remove(c)).collect())
    }

    async fn group_heads(
        &self,
        groups: &[&ConversationId],
    ) -> PortResult<HashMap<ConversationId, ConversationHead>> {
        if groups.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = groups.iter().map(|c| keys::head(c)).collect();
        let items = self
            .batch_get("heads", &self.tables.conversations, keys, true)
            .await?;
        let page: Vec<HeadItem> = from_items("conversation head", items)?;
        Ok(page
            .into_iter()
            .map(|item| {
                let head = ConversationHead::from(item);
                (head.conversation_id.clone(), head)
            })
            .collect())
    }

    async fn direct_heads(
        &self,
        direct: &[&ConversationId],
    ) -> PortResult<HashMap<ConversationId, ConversationHead>> {
        // The futures made first, then run a few at a time: a closure that makes them inside
        // the stream is not general enough over lifetimes for `async_trait`'s `Send` bound.
        let reads: Vec<_> = direct
            .iter()
            .map(|conversation| self.newest_item(conversation, Read::Consistent))
            .collect();
        let newest: Vec<Option<MessageItem>> = stream::iter(reads)
            .buffered(NEWEST_AT_ONCE)
            .try_collect()
            .await?;
        Ok(newest
            .into_iter()
            .flatten()
            .map(|item| {
                let head = head_of(item);
                (head.conversation_id.clone(), head)
            })
            .collect())
    }
}

/// A direct conversation's head, from its newest message.
fn head_of(newest: MessageItem) -> ConversationHead {
    let last_sent = newest.last_sent();
    let newest = chat_domain::StoredMessage::from(newest);
    ConversationHead {
        last_preview: newest.body.as_ref().map(|b| b.preview(PREVIEW_CHARS)),
        last_recalled: newest.recalled.is_some(),
        conversation_id: newest.conversation_id,
        last_seq: newest.seq,
        last_message_at: newest.sent_at,
        last_sender_id: newest.sender_id,
        name: None,
        last_sent,
    }
}
