//! `heads`: the conversation heads of a conversation list, by `BatchGetItem` on the
//! conversations table.
//!
//! A batch takes at most 100 keys and refuses duplicates, so the ids are deduplicated and sent
//! in chunks of 100. DynamoDB may leave some keys unprocessed (throttling, the 16 MB response
//! limit); those are asked again after a jittered pause, up to [`crate::Backoff::BATCH`]'s
//! tries. Reads are strongly consistent, so a head reflects every acknowledged append.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::KeysAndAttributes;
use chat_domain::{ChatError, ConversationId};
use chat_ports::{ConversationHead, PortResult};

use super::items::HeadItem;
use super::keys;
use crate::dynamo::DynamoStore;
use crate::dynamo::codec::{Item, build_error, from_items};
use crate::errors::internal;

/// BatchGetItem's limit of keys per request.
const BATCH_KEYS: usize = 100;

impl DynamoStore {
    pub(super) async fn conversation_heads(
        &self,
        conversations: &[ConversationId],
    ) -> PortResult<Vec<ConversationHead>> {
        let mut seen = HashSet::new();
        let unique: Vec<&ConversationId> =
            conversations.iter().filter(|c| seen.insert(*c)).collect();
        let mut found: HashMap<ConversationId, ConversationHead> = HashMap::new();
        for chunk in unique.chunks(BATCH_KEYS) {
            let keys = chunk.iter().map(|c| keys::head(c)).collect();
            for head in self.batch_heads(keys).await? {
                found.insert(head.conversation_id.clone(), head);
            }
        }
        // In the order asked, like the embedded store.
        Ok(unique.into_iter().filter_map(|c| found.remove(c)).collect())
    }

    /// The heads of up to 100 keys, retrying the unprocessed ones.
    async fn batch_heads(&self, mut keys: Vec<Item>) -> PortResult<Vec<ConversationHead>> {
        let table = self.tables.conversations.as_str();
        let mut heads = Vec::with_capacity(keys.len());
        let mut retry = 0;
        loop {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| build_error("heads: keys", e))?;
            let mut output = self
                .client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| internal("heads", e))?;
            let items = output
                .responses
                .as_mut()
                .and_then(|r| r.remove(table))
                .unwrap_or_default();
            let page: Vec<HeadItem> = from_items("conversation head", items)?;
            heads.extend(page.into_iter().map(ConversationHead::from));
            keys = match output
                .unprocessed_keys
                .as_mut()
                .and_then(|u| u.remove(table))
            {
                Some(left) if !left.keys.is_empty() => left.keys,
                _ => return Ok(heads),
            };
            retry += 1;
            if retry >= self.batch_backoff.max_attempts {
                return Err(ChatError::Internal {
                    context: format!(
                        "heads: {} keys still unprocessed after {retry} tries",
                        keys.len()
                    ),
                    cause: None,
                });
            }
            self.batch_backoff.pause(retry).await;
        }
    }
}
