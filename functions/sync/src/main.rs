//! Lambda host for the `sync` route: the conversation summary, or a page of messages after a seq.
//! Clients are built once per container; each invocation only runs the shared handler.

use chat_handlers::SyncHandler;
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(SyncHandler {
        messages: adapters.store.clone(),
        memberships: adapters.store.clone(),
        hidden: adapters.store.clone(),
    })
    .await
}
