//! `heads`: the conversation heads of a conversation list, by `BatchGetItem` on the
//! conversations table.
//!
//! Through `batch.rs` (100 keys a request, deduplicated, unprocessed keys asked again). Reads
//! are strongly consistent, so a head reflects every acknowledged append.

use std::collections::{HashMap, HashSet};

use chat_domain::ConversationId;
use chat_ports::{ConversationHead, PortResult};

use super::items::HeadItem;
use super::keys;
use crate::dynamo::DynamoStore;
use crate::dynamo::codec::from_items;

impl DynamoStore {
    pub(super) async fn conversation_heads(
        &self,
        conversations: &[ConversationId],
    ) -> PortResult<Vec<ConversationHead>> {
        let keys = conversations.iter().map(keys::head).collect();
        let items = self
            .batch_get("heads", &self.tables.conversations, keys, true)
            .await?;
        let page: Vec<HeadItem> = from_items("conversation head", items)?;
        let mut found: HashMap<ConversationId, ConversationHead> = page
            .into_iter()
            .map(|item| {
                let head = ConversationHead::from(item);
                (head.conversation_id.clone(), head)
            })
            .collect();
        // In the order asked (each once), like the embedded store.
        let mut seen = HashSet::new();
        Ok(conversations
            .iter()
            .filter(|c| seen.insert(*c))
            .filter_map(|c| found.remove(c))
            .collect())
    }
}
