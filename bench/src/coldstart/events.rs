//! The first invocation each function gets in a cold-start run: the event API Gateway, the
//! stream mapping or the media bucket's notification would send, small, and one that
//! exercises the function's real path.

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

/// The media bucket's notification of one upload (`s3:ObjectCreated:Put` on `key`), as S3
/// sends it to the `media` function.
pub fn object_created(bucket: &str, key: &str, size: u64, now_ms: i64) -> Value {
    let time = humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(now_ms).unwrap_or(0)),
    )
    .to_string();
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": time,
            "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": "AWS:AROACOLDSTART:device" },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": {
                "x-amz-request-id": "C0LD5TART0000001",
                "x-amz-id-2": "cold-start-request-id-2"
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "Uploads",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": { "principalId": "A1COLDSTART" },
                    "arn": format!("arn:aws:s3:::{bucket}")
                },
                "object": {
                    "key": key,
                    "size": size,
                    "eTag": "0123456789abcdef0123456789abcdef",
                    "sequencer": "0065F0C0LD5TART0"
                }
            }
        }]
    })
}

/// The event for function `name` (`hello-lambda` is the reference). The `media` function's
/// comes from [`object_created`], for an upload the bench makes first; without one (no AWS
/// endpoint) it gets a notification of a key nobody announced.
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
        "media" => object_created(
            "coldstart-media",
            "uploads/m00000000000000000000000000000000",
            1,
            now_ms,
        ),
        _ => json!({ "hello": "world" }),
    }
}
