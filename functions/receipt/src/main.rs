//! Lambda host for the `ack` and `receipt` routes: moves delivered/read marks and tells the other side.
//! Clients are built once per container; each invocation only runs the shared handler.

use chat_handlers::ReceiptHandler;
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(ReceiptHandler {
        messages: adapters.store.clone(),
        memberships: adapters.store.clone(),
        groups: adapters.store.clone(),
        connections: adapters.store.clone(),
        pusher: adapters.pusher()?,
        clock: adapters.clock.clone(),
    })
    .await
}
