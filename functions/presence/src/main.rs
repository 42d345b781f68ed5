//! Lambda host for the `presence` route: one `presence` event per asked user (as the caller
//! may see it), and the caller's connection watches their changes from now on.
//! Clients are built once per container; each invocation only runs the shared handler.

use chat_handlers::PresenceHandler;
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(PresenceHandler {
        users: adapters.store.clone(),
        connections: adapters.store.clone(),
        memberships: adapters.store.clone(),
        watches: adapters.store.clone(),
        pusher: adapters.pusher()?,
        clock: adapters.clock.clone(),
        settings: adapters.settings,
    })
    .await
}
