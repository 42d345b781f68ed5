//! The HTTP API host: what API Gateway's HTTP API (payload format 2.0) and its JWT authorizer do
//! in front of the `http-api` Lambda. A request is checked for a bearer token, turned into the
//! very `ApiGatewayV2httpRequest` JSON the Lambda receives, parsed by `lambda_http` and handed
//! to the shared `HttpApiHandler`; its `Response` goes back unchanged.
//!
//! Also `POST /dev/token`, which exists only here: it signs a token for any user id so that a
//! laptop needs no identity provider.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::{Body as AxumBody, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chat_domain::{ChatError, UserId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::gateway::{GatewayState, gateway_id};
use crate::instruments;

/// Dev tokens live as long as a working day.
const DEV_TOKEN_TTL_SECS: i64 = 12 * 60 * 60;

#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    user_id: String,
}

/// `POST /dev/token {"user_id"}` → `{"token"}`.
pub(crate) async fn dev_token(State(state): State<GatewayState>, body: Bytes) -> Response {
    let request: TokenRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error_response(&ChatError::bad_request(format!(
                "expected {{\"user_id\": \"...\"}}: {err}"
            )));
        }
    };
    let user = match UserId::parse(&request.user_id) {
        Ok(user) => user,
        Err(err) => return error_response(&ChatError::bad_request(err.to_string())),
    };
    let now = state.app.clock.now();
    match state.app.issuer.issue(&user, now, DEV_TOKEN_TTL_SECS) {
        Ok(token) => json_response(StatusCode::OK, &json!({ "token": token, "user_id": user })),
        Err(err) => error_response(&err),
    }
}

/// Everything under `/v1`: authorize, translate, invoke the shared handler.
pub(crate) async fn invoke(
    State(state): State<GatewayState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_refused(&rejection),
    };
    let Some(user) = bearer(&headers).and_then(|token| state.app.verifier.verify(token).ok())
    else {
        // API Gateway's JWT authorizer answers this itself, without invoking the Lambda.
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({
                "message": "Unauthorized",
                "error": { "code": "unauthorized", "message": "missing or invalid bearer token" }
            }),
        );
    };
    let event = http_event(&state, &peer, &method, &uri, &headers, &body, &user);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(err) => {
            return error_response(&ChatError::internal("building the HTTP API event", err));
        }
    };
    let response = instruments::invoke(
        state.app.invocations.as_ref(),
        "http-api",
        state.app.http.handle(request),
    )
    .await;
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Response::from_parts(parts, AxumBody::from(bytes))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The payload-format-2.0 event API Gateway sends after its JWT authorizer accepted `user`.
fn http_event(
    state: &GatewayState,
    peer: &SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    user: &UserId,
) -> Value {
    let now = state.app.clock.now();
    let mut header_map: HashMap<String, String> = HashMap::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        // API Gateway joins repeated headers with commas.
        header_map
            .entry(name.as_str().to_string())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }
    // API Gateway sets these itself, whatever the client sent (it is reached at its own
    // domain only), and `lambda_http` builds the request's URI from them, panicking on one it
    // cannot parse: a client's `Host: a b` must not reach it.
    header_map.insert("host".into(), state.domain_name.clone());
    header_map.insert("x-forwarded-proto".into(), "http".into());
    let query = uri.query().unwrap_or("");
    let mut parameters: HashMap<String, String> = HashMap::new();
    for (key, value) in url_pairs(query) {
        parameters
            .entry(key)
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let (text, base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(body), true)
        }
    };
    let user_agent = header_map.get("user-agent").cloned().unwrap_or_default();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": uri.path(),
        "rawQueryString": query,
        "headers": header_map,
        "queryStringParameters": if parameters.is_empty() { Value::Null } else { json!(parameters) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": { "jwt": { "claims": { "sub": user }, "scopes": null } },
            "domainName": state.domain_name,
            "domainPrefix": "local",
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": user_agent,
            },
            "requestId": gateway_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": crate::gateway::clf_time(now),
            "timeEpoch": now.as_i64(),
        },
        "body": if body.is_empty() { Value::Null } else { Value::String(text) },
        "isBase64Encoded": base64,
    })
}

/// `application/x-www-form-urlencoded` pairs, decoded as API Gateway decodes query strings.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn decode(component: &str) -> String {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// A body that could not be read (over the host's limit, or cut short), in the protocol's
/// error body rather than axum's plain text.
fn body_refused(rejection: &BytesRejection) -> Response {
    let message = format!("the request body was refused: {}", rejection.body_text());
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        error_response(&ChatError::too_large(message))
    } else {
        error_response(&ChatError::bad_request(message))
    }
}

fn error_response(err: &ChatError) -> Response {
    let status =
        StatusCode::from_u16(err.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if err.is_internal() {
        tracing::error!(error = %err, cause = ?std::error::Error::source(err), "request failed");
    }
    json_response(
        status,
        &json!({ "error": { "code": err.code(), "message": err.client_message() } }),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
