//! Answers to WebSocket routes. A route's integration response is what API Gateway sends back
//! to the calling connection (a two-way route with a `$default` route response), so `ack`s and
//! `error`s travel without a management-API call.

use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use aws_lambda_events::encodings::Body;
use chat_domain::ChatError;
use chat_domain::events::ServerEvent;

/// A 200 answer carrying `event` to the caller.
pub(crate) fn event(event: &ServerEvent) -> ApiGatewayProxyResponse {
    let mut response = empty();
    response.body = Some(Body::Text(event.to_json()));
    response
}

/// A 200 answer with nothing to send back.
pub(crate) fn empty() -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    response
}

/// The `error` event answering `action`; our own faults are logged with their cause here,
/// once, and reach the client only as `internal`.
pub(crate) fn error(
    err: &ChatError,
    action: Option<&str>,
    client_msg_id: Option<&str>,
) -> ApiGatewayProxyResponse {
    if err.is_internal() {
        tracing::error!(error = %err, cause = ?std::error::Error::source(err), "request failed");
    } else {
        tracing::info!(code = err.code().as_str(), error = %err, "client error");
    }
    event(&ServerEvent::error(err, action, client_msg_id))
}

/// A status-only answer (used by `$connect`, whose body API Gateway ignores).
pub(crate) fn status(code: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = code;
    response
}
