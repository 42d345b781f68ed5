//! Lambda host for the `typing` route: forwarded to the other members' online devices, at
//! most once per user and conversation every 2 s (this container's memory), never stored.
//! Clients are built once per container; each invocation only runs the shared handler.

use std::sync::Arc;

use chat_handlers::{TypingHandler, TypingThrottle};
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(TypingHandler {
        memberships: adapters.store.clone(),
        groups: adapters.store.clone(),
        connections: adapters.store.clone(),
        pusher: adapters.pusher()?,
        clock: adapters.clock.clone(),
        settings: adapters.settings,
        throttle: Arc::new(TypingThrottle::default()),
    })
    .await
}
