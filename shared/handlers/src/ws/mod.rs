//! WebSocket routes, one module each. Every handler takes the event API Gateway sends
//! (`ApiGatewayWebsocketProxyRequest`) and answers the integration response whose body, if any,
//! goes back to the caller.

mod connect;
mod default;
mod disconnect;
mod presence;
mod recall;
mod receipt;
mod route;
mod send;
mod sync;
mod typing;

pub use connect::ConnectHandler;
pub use default::DefaultHandler;
pub use disconnect::DisconnectHandler;
pub use presence::PresenceHandler;
pub use recall::RecallHandler;
pub(crate) use recall::recalled as recalled_event;
pub use receipt::ReceiptHandler;
pub use route::Route;
pub use send::SendHandler;
pub use sync::SyncHandler;
pub use typing::{TYPING_INTERVAL_MS, TypingHandler, TypingThrottle};
