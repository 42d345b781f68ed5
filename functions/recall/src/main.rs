//! Lambda host for the `recall` route: a message erased to a tombstone by its sender (within
//! the recall window) or a group admin; direct conversations' `recalled` pushed from here,
//! groups' from the messages stream.
//! Clients are built once per container; each invocation only runs the shared handler.

use chat_handlers::{Delivery, RecallHandler};
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(RecallHandler {
        messages: adapters.store.clone(),
        memberships: adapters.store.clone(),
        connections: adapters.store.clone(),
        pusher: adapters.pusher()?,
        clock: adapters.clock.clone(),
        settings: adapters.settings,
        delivery: Delivery::DirectInline,
        media: adapters.store.clone(),
        blobs: adapters.blobs()?,
    })
    .await
}
