//! The end-to-end harness: `chat-local` started in-process on a free port over a temporary
//! data directory, and clients that talk to it the way apps do, over real sockets. Every test
//! file under `tests/tests/` builds on these three pieces.

mod http;
mod server;
mod ws;

pub use http::{HttpClient, dev_token};
pub use server::TestServer;
pub use ws::{Closed, Refused, WsClient};

/// How long a test waits for an event that should come.
pub const EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a test waits to be sure an event does not come.
pub const QUIET_WAIT: std::time::Duration = std::time::Duration::from_millis(300);
