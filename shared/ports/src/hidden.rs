//! "Delete for me" of single messages: which messages a member hid from all their own devices.
//! Nobody else's view changes. The member's record says whether they hid any
//! (`Membership::hidden_messages`), so that history reads look here only for those who did.

use async_trait::async_trait;
use chat_domain::{ConversationId, Seq, UserId};

use crate::PortResult;

#[async_trait]
pub trait HiddenStore: Send + Sync {
    /// Hides the message at `seq` from `user` (idempotent), and marks their membership as one
    /// with hidden messages. `false`, and nothing hidden, when `user` has no membership
    /// (current or former) in `conversation`.
    async fn hide_message(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> PortResult<bool>;

    /// The seqs in `from ..= to` that `user` hid, in order.
    async fn hidden_in(
        &self,
        conversation: &ConversationId,
        user: &UserId,
        from: u64,
        to: u64,
    ) -> PortResult<Vec<Seq>>;
}
