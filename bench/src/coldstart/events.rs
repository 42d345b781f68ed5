//! The first invocation each function gets in a cold-start run: the event API Gateway or the
//! stream mapping would send, small, and one that exercises the function's real path.

use serde_json::{Value, json};

/// A WebSocket route event for `alice` on her phone, as API Gateway builds it.
fn websocket(route_key: &str, event_type: &str, body: Option<&str>, now_ms: i64) -> Value {
    json!({
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "connectionId": "Q29sZFN0YXJ0=",
            "connectedAt": now_ms,
            "requestTimeEpoch": now_ms,
            "requestId": "cold-start-request",
            "extendedRequestId": "cold-start-request",
            "domainName": "api.example.com",
            "stage": "prod",
            "apiId": "coldstart",
            "authorizer": { "principalId": "alice", "user_id": "alice", "device_id": "phone" },
            "identity": { "sourceIp": "127.0.0.1" }
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// The event for function `name` (`hello-lambda` is the reference).
pub fn for_function(name: &str, token: &str, now_ms: i64) -> Value {
    match name {
        "authorizer" => json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:000000000000:coldstart/prod/$connect",
            "headers": {},
            "queryStringParameters": { "token": token, "device": "phone" },
            "requestContext": { "routeKey": "$connect", "eventType": "CONNECT",
                "connectionId": "Q29sZFN0YXJ0=", "stage": "prod", "apiId": "coldstart" }
        }),
        "connect" => websocket("$connect", "CONNECT", None, now_ms),
        "disconnect" => websocket("$disconnect", "DISCONNECT", None, now_ms),
        "send" => websocket(
            "send",
            "MESSAGE",
            Some(r#"{"action":"send","to":"bob","client_msg_id":"cold-1","body":"hello"}"#),
            now_ms,
        ),
        "receipt" => websocket(
            "receipt",
            "MESSAGE",
            Some(r#"{"action":"receipt","conversation_id":"dm:alice:bob","seq":1,"kind":"read"}"#),
            now_ms,
        ),
        "sync" => websocket("sync", "MESSAGE", Some(r#"{"action":"sync"}"#), now_ms),
        "recall" => websocket(
            "recall",
            "MESSAGE",
            Some(r#"{"action":"recall","conversation_id":"dm:alice:bob","seq":1}"#),
            now_ms,
        ),
        "typing" => websocket(
            "typing",
            "MESSAGE",
            Some(r#"{"action":"typing","conversation_id":"dm:alice:bob","state":"start"}"#),
            now_ms,
        ),
        "presence" => websocket(
            "presence",
            "MESSAGE",
            Some(r#"{"action":"presence","user_ids":["bob"]}"#),
            now_ms,
        ),
        "default" => websocket("$default", "MESSAGE", Some(r#"{"action":"ping"}"#), now_ms),
        "http-api" => json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/v1/conversations",
            "rawQueryString": "",
            "headers": { "host": "api.example.com" },
            "requestContext": {
                "accountId": "000000000000", "apiId": "coldstart", "domainName": "api.example.com",
                "http": { "method": "GET", "path": "/v1/conversations", "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1", "userAgent": "chat-bench" },
                "authorizer": { "jwt": { "claims": { "sub": "alice" }, "scopes": null } },
                "requestId": "cold-start-request", "routeKey": "$default", "stage": "$default",
                "time": "24/Nov/2026:00:00:00 +0000", "timeEpoch": now_ms
            },
            "isBase64Encoded": false
        }),
        "stream" => json!({ "Records": [] }),
        _ => json!({ "hello": "world" }),
    }
}
