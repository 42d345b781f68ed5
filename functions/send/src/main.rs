//! Lambda host for the `send` route: stores a message (idempotently), acks it and pushes it to the online devices.
//! Clients are built once per container; each invocation only runs the shared handler.

use chat_handlers::{Delivery, SendHandler};
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(SendHandler {
        messages: adapters.store.clone(),
        memberships: adapters.store.clone(),
        groups: adapters.store.clone(),
        connections: adapters.store.clone(),
        pusher: adapters.pusher()?,
        clock: adapters.clock.clone(),
        // Direct messages are pushed here; the `stream` function fans group messages out from
        // the messages table's stream, in its order.
        delivery: Delivery::DirectInline,
        media: adapters.store.clone(),
        // Each user's allowance, shared by every container (counted on the users table).
        quota: adapters.store.clone(),
    })
    .await
}
