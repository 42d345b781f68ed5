//! Lambda host for the media bucket's `s3:ObjectCreated:*` notifications on the `uploads/`
//! prefix (its own thumbnail writes go to `thumbnails/` and never trigger it): the check after
//! upload that makes a media sendable, and the thumbnail of an image.
//! Clients are built once per container; each invocation only runs the shared handler. A
//! failed check fails the invocation, so that Lambda retries the asynchronous event.

use std::sync::Arc;

use aws_lambda_events::s3::S3Event;
use chat_handlers::{MediaChecker, MediaEventHandler};
use chat_imaging::RasterImages;
use chat_lambda_host::Adapters;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let adapters = Adapters::from_env().await?;
    let handler = Arc::new(MediaEventHandler {
        checker: MediaChecker {
            media: adapters.store.clone(),
            blobs: adapters.blobs()?,
            images: Arc::new(RasterImages::default()),
        },
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let handler = handler.clone();
        async move {
            chat_lambda_host::invocation(handler.handle(event.payload))
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
