//! Lambda host for the HTTP API (payload format 2.0). API Gateway's JWT authorizer has checked
//! the bearer token before this runs; the handler reads the caller from the request context.

use std::sync::Arc;

use chat_handlers::HttpApiHandler;
use chat_lambda_host::Adapters;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    let handler = Arc::new(HttpApiHandler {
        messages: adapters.store.clone(),
        memberships: adapters.store.clone(),
        groups: adapters.store.clone(),
        users: adapters.store.clone(),
        connections: adapters.store.clone(),
        hidden: adapters.store.clone(),
        pusher: adapters.pusher()?,
        media: adapters.store.clone(),
        blobs: adapters.blobs()?,
        devices: adapters.store.clone(),
        push: adapters.push_notifier(),
        clock: adapters.clock.clone(),
        settings: adapters.settings,
    });
    lambda_http::run(service_fn(move |request: Request| {
        let handler = handler.clone();
        async move { Ok::<_, Error>(chat_lambda_host::invocation(handler.handle(request)).await) }
    }))
    .await
}
