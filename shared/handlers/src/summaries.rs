//! Where a user stands in each of their conversations: memberships joined with conversation
//! heads, newest activity first. Shared by `sync` (socket) and `GET /v1/conversations` (HTTP).

use std::collections::HashMap;

use chat_domain::events::ConversationSummary;
use chat_domain::{ChatError, ConversationId, Millis, UserId};
use chat_ports::{ConversationHead, MembershipStore, MessageStore};

/// One conversation of a user, with what a list shows.
#[derive(Debug, Clone)]
pub(crate) struct UserConversation {
    pub summary: ConversationSummary,
    pub head: Option<ConversationHead>,
    /// The last message's time, or when the user joined if nothing was said yet.
    pub last_activity_at: Millis,
}

/// Every conversation of `user`, newest activity first (ties by id, so the order is total).
pub(crate) async fn summaries_of(
    memberships: &dyn MembershipStore,
    messages: &dyn MessageStore,
    user: &UserId,
) -> Result<Vec<UserConversation>, ChatError> {
    let mine = memberships.memberships_of(user).await?;
    let ids: Vec<ConversationId> = mine.iter().map(|m| m.conversation_id.clone()).collect();
    let mut heads: HashMap<ConversationId, ConversationHead> = messages
        .heads(&ids)
        .await?
        .into_iter()
        .map(|h| (h.conversation_id.clone(), h))
        .collect();
    let mut list: Vec<UserConversation> = mine
        .into_iter()
        .filter_map(|m| {
            let head = heads.remove(&m.conversation_id);
            // A group exists from its head on (its members are written first, see
            // `GroupStore::create_group`): without one it is nobody's conversation yet.
            if head.is_none() && m.conversation_id.direct_members().is_none() {
                return None;
            }
            let last_seq = head.as_ref().map_or(0, |h| h.last_seq.get());
            // In a direct conversation the user's own messages are read without a mark.
            let m = m.with_own_messages_read(head.as_ref().map_or(0, |h| h.last_sent_by(user)));
            // Deleted for this member, and nothing said since.
            if m.is_hidden(last_seq) {
                return None;
            }
            Some(UserConversation {
                last_activity_at: head.as_ref().map_or(m.joined_at, |h| h.last_message_at),
                summary: ConversationSummary {
                    kind: m.conversation_id.kind(),
                    conversation_id: m.conversation_id.clone(),
                    name: head.as_ref().and_then(|h| h.name.clone()),
                    // A former member sees up to their removal.
                    last_seq: m.visible_last(last_seq),
                    delivered_seq: m.delivered_seq,
                    read_seq: m.read_seq,
                    unread: m.unread(last_seq),
                },
                head,
            })
        })
        .collect();
    list.sort_by(|a, b| {
        b.last_activity_at
            .cmp(&a.last_activity_at)
            .then_with(|| a.summary.conversation_id.cmp(&b.summary.conversation_id))
    });
    Ok(list)
}
