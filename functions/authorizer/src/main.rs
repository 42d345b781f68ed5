//! Lambda host for the WebSocket `$connect` REQUEST authorizer (identity source
//! `route.request.querystring.token`). It needs no AWS client: only the token secret.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use chat_handlers::AuthorizerHandler;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    chat_lambda_host::init_logging();
    let handler = Arc::new(AuthorizerHandler::new(
        chat_lambda_host::verifier_from_env()?
    ));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| {
            let handler = handler.clone();
            async move {
                // API Gateway answers the upgrade with 401 exactly when the authorizer fails
                // with the message "Unauthorized"; the reason goes to the logs only.
                handler.handle(&event.payload).map_err(|err| {
                    tracing::info!(error = %err, "connection refused");
                    Error::from("Unauthorized")
                })
            }
        },
    ))
    .await
}
