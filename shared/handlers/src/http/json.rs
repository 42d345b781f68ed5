//! JSON answers and the protocol's error body `{"error": {"code", "message"}}`.

use chat_domain::ChatError;
use lambda_http::{Body, Response};
use serde::Serialize;

pub(crate) fn ok<T: Serialize>(value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => respond(200, text),
        Err(err) => error(&ChatError::internal("serializing a response", err)),
    }
}

pub(crate) fn error(err: &ChatError) -> Response<Body> {
    status_error(err.code().http_status(), err)
}

/// An error body under an explicit status (e.g. 405, which has no protocol code of its own).
pub(crate) fn status_error(status: u16, err: &ChatError) -> Response<Body> {
    if err.is_internal() {
        tracing::error!(error = %err, cause = ?std::error::Error::source(err), "request failed");
    } else {
        tracing::info!(code = err.code().as_str(), error = %err, "client error");
    }
    let body = serde_json::json!({
        "error": { "code": err.code(), "message": err.client_message() }
    });
    respond(status, body.to_string())
}

fn respond(status: u16, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
