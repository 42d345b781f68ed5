//! The `@connections` management API, wire-compatible with `aws-sdk-apigatewaymanagement`:
//! `POST` sends the request body to the connection, `GET` describes it, `DELETE` closes it.
//! Unknown ids answer `410 GoneException`, oversize payloads `413 PayloadTooLargeException`,
//! throttled posts (only when a test asks for them, `--fault-throttle-every`) `429
//! LimitExceededException`,
//! in the restJson1 error shape the SDK parses (`x-amzn-ErrorType` header and `message`).
//!
//! Requests are not SigV4-verified: this endpoint is for loopback use. Ids arrive
//! percent-encoded (`=` as `%3D`); axum's `Path` decodes them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chat_domain::limits::MAX_SERVER_FRAME_BYTES;
use chat_ports::PostOutcome;

use super::GatewayState;
use super::events::rfc3339;
use super::registry::Outbound;

pub(crate) async fn post_to_connection(
    State(state): State<GatewayState>,
    Path(connection_id): Path<String>,
    body: Bytes,
) -> Response {
    if state.app.throttle.refuses_next() {
        return aws_error(
            StatusCode::TOO_MANY_REQUESTS,
            "LimitExceededException",
            "Rate exceeded",
        );
    }
    if body.len() > MAX_SERVER_FRAME_BYTES {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "Message payload exceeds the 128 KB limit",
        );
    }
    let frame = match String::from_utf8(body.to_vec()) {
        Ok(text) => Outbound::Text(text),
        Err(err) => Outbound::Binary(err.into_bytes()),
    };
    match state.app.registry.send(&connection_id, frame) {
        PostOutcome::Delivered => StatusCode::OK.into_response(),
        PostOutcome::Gone => gone(),
    }
}

pub(crate) async fn get_connection(
    State(state): State<GatewayState>,
    Path(connection_id): Path<String>,
) -> Response {
    let Some(info) = state.app.registry.info(&connection_id) else {
        return gone();
    };
    // The member names are the restJson1 ones API Gateway sends (camelCase).
    let body = serde_json::json!({
        "connectedAt": rfc3339(info.connected_at),
        "lastActiveAt": rfc3339(info.last_active_at),
        "identity": { "sourceIp": info.source_ip, "userAgent": info.user_agent },
    });
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) async fn delete_connection(
    State(state): State<GatewayState>,
    Path(connection_id): Path<String>,
) -> Response {
    let outcome = state
        .app
        .registry
        .send(&connection_id, Outbound::Close(1000, String::new()));
    match outcome {
        PostOutcome::Delivered => StatusCode::NO_CONTENT.into_response(),
        PostOutcome::Gone => gone(),
    }
}

fn gone() -> Response {
    aws_error(StatusCode::GONE, "GoneException", "Connection is gone")
}

fn aws_error(status: StatusCode, kind: &'static str, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = (status, [("content-type", "application/json")], body).into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(kind));
    response
}
