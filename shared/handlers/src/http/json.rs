//! JSON answers and the protocol's error body `{"error": {"code", "message"}}`.

use chat_domain::{ChatError, Seq};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) fn ok<T: Serialize>(value: &T) -> Response<Body> {
    with_status(200, value)
}

/// `201 Created` with `value`.
pub(crate) fn created<T: Serialize>(value: &T) -> Response<Body> {
    with_status(201, value)
}

fn with_status<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => respond(status, text),
        Err(err) => error(&ChatError::internal("serializing a response", err)),
    }
}

/// A field a body must have.
pub(crate) fn required<T>(field: &str, value: Option<T>) -> Result<T, ChatError> {
    value.ok_or_else(|| ChatError::bad_request(format!("missing field `{field}`")))
}

/// The request's JSON body as `T`, or a `bad_request` saying what is wrong with it.
/// A message's seq from a path segment (`.../messages/{seq}`).
pub(crate) fn path_seq(raw: &str) -> Result<Seq, ChatError> {
    raw.parse::<u64>()
        .map_err(|_| ChatError::bad_request("the seq in the path must be a number"))
        .and_then(Seq::new)
}

pub(crate) fn body<T: DeserializeOwned>(request: &lambda_http::Request) -> Result<T, ChatError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.is_empty() {
        return Err(ChatError::bad_request("this request needs a JSON body"));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        if err.is_syntax() || err.is_eof() {
            ChatError::bad_request("the body is not valid JSON")
        } else {
            ChatError::bad_request(format!("invalid body: {err}"))
        }
    })
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

/// `302 Found` to `location` (a presigned URL), with no body worth reading.
pub(crate) fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = http::StatusCode::FOUND;
    if let Ok(value) = http::HeaderValue::from_str(location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    // The URL expires within minutes: nobody may keep the answer.
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

/// `204 No Content`.
pub(crate) fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    response
}
