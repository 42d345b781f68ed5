//! WebSocket routes, one module each. Every handler takes the event API Gateway sends
//! (`ApiGatewayWebsocketProxyRequest`) and answers the integration response whose body, if any,
//! goes back to the caller.

mod connect;
mod default;
mod disconnect;
mod receipt;
mod route;
mod send;
mod sync;

pub use connect::ConnectHandler;
pub use default::DefaultHandler;
pub use disconnect::DisconnectHandler;
pub use receipt::ReceiptHandler;
pub use route::Route;
pub use send::SendHandler;
pub use sync::SyncHandler;

use chat_domain::{ChatError, ConversationId, UserId};
use chat_ports::MembershipStore;

/// Whether `user` may read and write `conversation`. Direct conversations answer from the id
/// alone (no read); groups ask the membership store. A stranger learns nothing either way.
pub(crate) async fn ensure_member(
    memberships: &dyn MembershipStore,
    conversation: &ConversationId,
    user: &UserId,
) -> Result<(), ChatError> {
    let member = match conversation.direct_members() {
        Some(_) => conversation.is_direct_member(user),
        None => memberships.membership(conversation, user).await?.is_some(),
    };
    if member {
        Ok(())
    } else {
        Err(ChatError::forbidden())
    }
}
