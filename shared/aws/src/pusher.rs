//! The `ConnectionPusher` over API Gateway's management API (`@connections`): how a Lambda
//! writes to a WebSocket it does not hold.
//!
//! The same client talks to `chat-local`'s own `@connections` endpoint, which is why the
//! endpoint is a plain URL whose stage path (`/prod`, `/local`) is kept: the SDK appends
//! `/@connections/{id}` to it (the id percent-encoded, so `=` travels as `%3D`).
//!
//! Outcomes: `410 GoneException` is an answer (`PostOutcome::Gone`, the caller prunes the
//! connection), not an error. Throttling (`429`, `LimitExceededException`) and transient faults
//! (5xx, timeouts, broken connections) are retried here with bounded, jittered backoff: a post
//! may therefore reach a device twice, which the protocol allows (same `seq`, same
//! `message_id`). Everything else is `ChatError::Internal`. The client built by
//! [`management_client`] has the SDK's own retries switched off so that this loop is the only
//! one (the SDK would otherwise also retry `LimitExceededException`, multiplying the tries).

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use chat_domain::ConnectionId;
use chat_ports::{ConnectionPusher, PortResult, PostOutcome};

use crate::backoff::Backoff;
use crate::errors::internal;
use crate::metering::RequestMeter;

/// The management endpoint of a deployed WebSocket API stage:
/// `https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`.
pub fn management_endpoint(api_id: &str, region: &str, stage: &str) -> String {
    format!("https://{api_id}.execute-api.{region}.amazonaws.com/{stage}")
}

/// A management API client for `endpoint_url` (e.g. [`management_endpoint`]'s answer, or
/// `http://127.0.0.1:3001/local` for `chat-local`), with credentials and region from
/// `sdk_config` and the SDK's retries off (see the module docs).
pub fn management_client(sdk_config: &SdkConfig, endpoint_url: &str) -> Client {
    management_client_metered(sdk_config, endpoint_url, None)
}

/// [`management_client`], with every post counted by `meter` when one is given.
pub fn management_client_metered(
    sdk_config: &SdkConfig,
    endpoint_url: &str,
    meter: Option<&RequestMeter>,
) -> Client {
    let mut config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk_config)
        .endpoint_url(endpoint_url.trim_end_matches('/'))
        .retry_config(RetryConfig::disabled());
    if let Some(meter) = meter {
        config = config.interceptor(meter.clone());
    }
    Client::from_conf(config.build())
}

/// Posts frames to connections through the management API.
#[derive(Debug, Clone)]
pub struct ApiGatewayPusher {
    client: Client,
    backoff: Backoff,
}

impl ApiGatewayPusher {
    /// A pusher over `client` (build it with [`management_client`]), retrying with
    /// [`Backoff::PUSH`].
    pub fn new(client: Client) -> ApiGatewayPusher {
        ApiGatewayPusher {
            client,
            backoff: Backoff::PUSH,
        }
    }

    /// The same pusher with another retry policy (tests use tiny pauses).
    pub fn with_backoff(self, backoff: Backoff) -> ApiGatewayPusher {
        ApiGatewayPusher { backoff, ..self }
    }
}

/// What one failed call means for the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The connection is gone: an answer.
    Gone,
    /// API Gateway throttled it (429, the account's request quota): worth another try, and
    /// counted (the `Throttles` metric).
    Throttled,
    /// A transient fault: worth another try.
    Retry,
    /// Anything else: an internal error.
    Fatal,
}

/// Error codes API Gateway (or a stand-in) uses for throttling.
const THROTTLING_CODES: [&str; 4] = [
    "LimitExceededException",
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
];

/// Sorts a failure by HTTP status first, then by error code: a stand-in server may answer a
/// bare `410`/`429` without the `x-amzn-ErrorType` header the SDK reads codes from.
fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Failure {
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            if status == 410 || code == Some("GoneException") {
                Failure::Gone
            } else if status == 429 || code.is_some_and(|c| THROTTLING_CODES.contains(&c)) {
                Failure::Throttled
            } else if status >= 500 {
                Failure::Retry
            } else {
                Failure::Fatal
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Retry
        }
        _ => Failure::Fatal,
    }
}

impl ApiGatewayPusher {
    /// Runs `call` until it succeeds, the connection is gone, or the tries run out.
    async fn with_retries<E, F, Fut>(
        &self,
        what: &str,
        connection: &ConnectionId,
        call: F,
    ) -> PortResult<PostOutcome>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), SdkError<E, HttpResponse>>>,
    {
        let mut attempt = 1;
        loop {
            let err = match call().await {
                Ok(()) => return Ok(PostOutcome::Delivered),
                Err(err) => err,
            };
            let failure = classify(&err);
            if failure == Failure::Throttled {
                chat_metrics::count(chat_metrics::names::THROTTLES, 1);
            }
            match failure {
                Failure::Gone => return Ok(PostOutcome::Gone),
                Failure::Throttled | Failure::Retry if attempt < self.backoff.max_attempts => {
                    tracing::debug!(%connection, attempt, error = %DisplayErrorContext(&err), "{what} retried");
                    self.backoff.pause(attempt).await;
                    attempt += 1;
                }
                Failure::Throttled | Failure::Retry | Failure::Fatal => {
                    return Err(internal(
                        format!("{what} {connection} (try {attempt})"),
                        err,
                    ));
                }
            }
        }
    }
}

#[async_trait]
impl ConnectionPusher for ApiGatewayPusher {
    async fn post(&self, connection: &ConnectionId, payload: &[u8]) -> PortResult<PostOutcome> {
        self.with_retries("post_to_connection", connection, || async {
            self.client
                .post_to_connection()
                .connection_id(connection.as_str())
                .data(Blob::new(payload))
                .send()
                .await
                .map(|_| ())
        })
        .await
    }

    async fn disconnect(&self, connection: &ConnectionId) -> PortResult<PostOutcome> {
        self.with_retries("delete_connection", connection, || async {
            self.client
                .delete_connection()
                .connection_id(connection.as_str())
                .send()
                .await
                .map(|_| ())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
