//! `MessageStore` over three tables that `append` writes in one transaction: messages (keyed
//! `(conversation_id, seq)`, streamed to the fan-out consumer), conversation heads (keyed
//! `conversation_id`: the `last_seq` that appends race on, and the last-message preview) and
//! idempotency keys (keyed `(sender_id, client_msg_id)`). Keeping the heads and keys out of the
//! messages table keeps its stream free of anything but messages.
//!
//! [`append`] holds the seq race and idempotency, [`lanes`] queues one process's appends per
//! conversation, [`history`] the page queries, [`heads`] the batch reads; [`keys`] names the
//! keys and [`items`] the stored forms.

pub(in crate::dynamo) mod append;
mod direct;
mod heads;
mod history;
pub(in crate::dynamo) mod items;
pub(crate) mod keys;
pub(crate) mod lanes;
mod recall;

use async_trait::async_trait;
use chat_domain::{ConversationId, NewMessage, Recall, Seq, StoredMessage, UserId};
use chat_ports::{Appended, ConversationHead, HistoryQuery, MessagePage, MessageStore, PortResult};

use super::DynamoStore;

#[async_trait]
impl MessageStore for DynamoStore {
    async fn append(&self, message: NewMessage) -> PortResult<Appended> {
        self.append_message(message).await
    }

    async fn history(
        &self,
        conversation: &ConversationId,
        query: HistoryQuery,
    ) -> PortResult<MessagePage> {
        self.history_page(conversation, query).await
    }

    async fn heads(&self, conversations: &[ConversationId]) -> PortResult<Vec<ConversationHead>> {
        self.conversation_heads(conversations).await
    }

    async fn recall(
        &self,
        conversation: &ConversationId,
        seq: Seq,
        recall: Recall,
    ) -> PortResult<Option<StoredMessage>> {
        self.recall_message(conversation, seq, recall).await
    }

    async fn senders(
        &self,
        conversation: &ConversationId,
        after: u64,
        up_to: Seq,
        limit: u32,
    ) -> PortResult<Vec<UserId>> {
        self.senders_between(conversation, after, up_to, limit)
            .await
    }
}
