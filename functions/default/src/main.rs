//! Lambda host for the `$default` route: `ping`, and an error for any unknown action.
//! Clients are built once per container; each invocation only runs the shared handler.

use chat_handlers::DefaultHandler;
use chat_lambda_host::Adapters;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    chat_lambda_host::run_route(DefaultHandler {
        users: adapters.store.clone(),
        activity: adapters.activity.clone(),
        clock: adapters.clock.clone(),
    })
    .await
}
