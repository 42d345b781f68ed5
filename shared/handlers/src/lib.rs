//! The route handlers: what the chat *does*, written once over ports and fed the event shapes
//! API Gateway sends (`aws_lambda_events`). The Lambda `main`s and `chat-local` are only hosts
//! that build a handler from adapters and feed it events; neither holds a business rule.
//!
//! Each handler is a small struct holding exactly the ports it uses (so its IAM policy can grant
//! exactly what those ports call) with one `handle` method. Client errors are normal answers:
//! an `error` event on the socket or a JSON error on HTTP, never a failed invocation.

mod access;
pub mod authorizer;
mod caller;
mod fanout;
mod groups;
pub mod http;
mod marks;
pub mod media;
mod notify;
mod presence;
mod reply;
mod settings;
pub mod stream;
mod summaries;
pub mod ws;

pub use authorizer::{AuthorizerHandler, Principal};
pub use caller::Caller;
pub use fanout::Delivery;
pub use http::HttpApiHandler;
pub use media::{MediaChecker, MediaEventHandler};
pub use notify::Notifier;
pub use presence::Activity;
pub use settings::ChatSettings;
pub use stream::StreamHandler;
pub use ws::{
    ConnectHandler, DefaultHandler, DisconnectHandler, PresenceHandler, RecallHandler,
    ReceiptHandler, Route, SendHandler, SyncHandler, TypingHandler, TypingThrottle,
};

/// How long API Gateway keeps a WebSocket connection open at most (2 hours); a connection item
/// expires then even if `$disconnect` never arrives.
pub const MAX_CONNECTION_AGE_MS: i64 = 2 * 60 * 60 * 1000;
