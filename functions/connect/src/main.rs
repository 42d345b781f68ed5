//! Lambda host for the `$connect` route: records the connection of the user the authorizer admitted.
//! Clients are built once per container; each invocation only runs the shared handler.

use chat_handlers::ConnectHandler;
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(ConnectHandler {
        connections: adapters.store.clone(),
        users: adapters.store.clone(),
        watches: adapters.store.clone(),
        pusher: adapters.pusher()?,
        clock: adapters.clock.clone(),
        settings: adapters.settings,
    })
    .await
}
