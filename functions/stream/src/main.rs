//! Lambda host for the messages table's stream (event source mapping with
//! `ReportBatchItemFailures`): group fan-out off the sender's path, and push notifications
//! to every member device with no live connection.
//! Clients are built once per container; each invocation only runs the shared handler.

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use chat_handlers::{Delivery, Notifier, StreamHandler};
use chat_lambda_host::Adapters;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    let handler = Arc::new(StreamHandler {
        connections: adapters.store.clone(),
        memberships: adapters.store.clone(),
        pusher: adapters.pusher()?,
        clock: adapters.clock.clone(),
        // `send` pushes direct messages itself.
        delivery: Delivery::DirectInline,
        notifier: Some(Arc::new(Notifier {
            memberships: adapters.store.clone(),
            messages: adapters.store.clone(),
            users: adapters.store.clone(),
            connections: adapters.store.clone(),
            devices: adapters.store.clone(),
            ledger: adapters.store.clone(),
            push: adapters.push_notifier(),
            clock: adapters.clock.clone(),
            settings: adapters.settings,
        })),
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        let handler = handler.clone();
        async move { Ok::<_, Error>(chat_lambda_host::invocation(handler.handle(event.payload)).await) }
    }))
    .await
}
