//! Every bad frame gets an `error` event with the right code, and the socket stays up.

use chat_tests::{TestServer, WsClient};
use serde_json::{Value, json};

async fn expect_error(client: &mut WsClient, code: &str) -> Value {
    let error = client.expect("error").await;
    assert_eq!(error["code"], code, "{error}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{error}"
    );
    client.assert_alive().await;
    error
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let server = TestServer::start().await;
    let mut client = server.connect("alice", "phone").await;
    client.send_text("{not json").await;
    expect_error(&mut client, "bad_request").await;
    client.send_text("[1, 2, 3]").await;
    expect_error(&mut client, "bad_request").await;
}

#[tokio::test]
async fn an_unknown_action_is_a_bad_request_naming_it() {
    let server = TestServer::start().await;
    let mut client = server.connect("alice", "phone").await;
    client.send_json(&json!({ "action": "teleport" })).await;
    let error = expect_error(&mut client, "bad_request").await;
    assert_eq!(error["action"], "teleport");
    client
        .send_json(&json!({ "body": "no action at all" }))
        .await;
    expect_error(&mut client, "bad_request").await;
}

#[tokio::test]
async fn missing_fields_are_bad_requests() {
    let server = TestServer::start().await;
    let mut client = server.connect("alice", "phone").await;
    let frames = [
        json!({ "action": "send", "to": "bob", "body": "no client_msg_id" }),
        json!({ "action": "send", "client_msg_id": "c1", "body": "no recipient" }),
        json!({ "action": "send", "to": "bob", "client_msg_id": "c2" }),
        json!({ "action": "send", "to": "bob", "client_msg_id": "c3", "body": "" }),
        json!({ "action": "send", "to": "bob", "conversation_id": "dm:alice:bob",
            "client_msg_id": "c4", "body": "both" }),
        json!({ "action": "send", "to": "bob", "client_msg_id": "c5", "body": 7 }),
        json!({ "action": "send", "conversation_id": "dm:bob:alice",
            "client_msg_id": "c6", "body": "not canonical" }),
        json!({ "action": "receipt", "conversation_id": "dm:alice:bob", "seq": 1 }),
        json!({ "action": "receipt", "conversation_id": "dm:alice:bob", "seq": 1, "kind": "seen" }),
        json!({ "action": "ack", "conversation_id": "dm:alice:bob" }),
        json!({ "action": "sync", "conversation_id": "dm:alice:bob", "limit": 101 }),
    ];
    for frame in frames {
        client.send_json(&frame).await;
        let error = client.expect("error").await;
        assert_eq!(error["code"], "bad_request", "{frame} → {error}");
    }
    client.assert_alive().await;
    // The send errors carry the client_msg_id they answer, so a client can match them.
    client
        .send_json(&json!({ "action": "send", "to": "bob", "client_msg_id": "c7" }))
        .await;
    let error = expect_error(&mut client, "bad_request").await;
    assert_eq!(error["client_msg_id"], "c7");
    assert_eq!(error["action"], "send");
}

#[tokio::test]
async fn a_body_over_4096_characters_is_too_large_and_not_stored() {
    let server = TestServer::start().await;
    let mut client = server.connect("alice", "phone").await;
    // 4,097 characters but well under the 32 KB frame limit (multi-byte chars count once).
    let body = "é".repeat(4097);
    client
        .send_json(&json!({ "action": "send", "to": "bob", "client_msg_id": "big", "body": body }))
        .await;
    let error = expect_error(&mut client, "too_large").await;
    assert_eq!(error["client_msg_id"], "big");
    // Exactly 4,096 is fine.
    let body = "é".repeat(4096);
    client
        .send_json(&json!({ "action": "send", "to": "bob", "client_msg_id": "max", "body": body }))
        .await;
    let ack = client.expect("ack").await;
    assert_eq!(ack["seq"], 1, "the refused message took no seq");
}

#[tokio::test]
async fn a_frame_over_32_kb_is_refused_and_the_socket_stays_open() {
    let server = TestServer::start().await;
    let mut client = server.connect("alice", "phone").await;
    let padding = "x".repeat(33 * 1024);
    client
        .send_json(
            &json!({ "action": "send", "to": "bob", "client_msg_id": "huge", "body": padding }),
        )
        .await;
    expect_error(&mut client, "too_large").await;
    client.send_binary(vec![0u8; 16]).await;
    expect_error(&mut client, "bad_request").await;
}

#[tokio::test]
async fn writing_to_another_pairs_conversation_is_forbidden() {
    let server = TestServer::start().await;
    let mut alice = server.connect("alice", "phone").await;
    alice
        .send_json(&json!({ "action": "send", "to": "bob", "client_msg_id": "a1", "body": "hi" }))
        .await;
    alice.expect("ack").await;

    let mut mallory = server.connect("mallory", "phone").await;
    mallory
        .send_json(
            &json!({ "action": "send", "conversation_id": "dm:alice:bob",
            "client_msg_id": "m1", "body": "let me in" }),
        )
        .await;
    let error = expect_error(&mut mallory, "forbidden").await;
    assert_eq!(error["client_msg_id"], "m1");
    mallory
        .send_json(&json!({ "action": "sync", "conversation_id": "dm:alice:bob" }))
        .await;
    expect_error(&mut mallory, "forbidden").await;
    mallory
        .send_json(
            &json!({ "action": "receipt", "conversation_id": "dm:alice:bob",
            "seq": 1, "kind": "read" }),
        )
        .await;
    expect_error(&mut mallory, "forbidden").await;
    // A conversation that does not exist answers the same: nobody learns what exists.
    mallory
        .send_json(&json!({ "action": "sync", "conversation_id": "dm:alice:zed" }))
        .await;
    expect_error(&mut mallory, "forbidden").await;
    mallory
        .send_json(&json!({ "action": "sync", "conversation_id": "grp:nope" }))
        .await;
    expect_error(&mut mallory, "forbidden").await;
    alice.expect_silence().await;
}

#[tokio::test]
async fn reading_another_pairs_conversation_over_http_is_forbidden() {
    let server = TestServer::start().await;
    let mut alice = server.connect("alice", "phone").await;
    alice
        .send_json(&json!({ "action": "send", "to": "bob", "client_msg_id": "a1", "body": "hi" }))
        .await;
    alice.expect("ack").await;

    let mallory = server.http_as("mallory").await;
    for path in [
        "/v1/conversations/dm:alice:bob/messages",
        "/v1/conversations/dm:alice:zed/messages",
        "/v1/conversations/grp:nope/messages",
    ] {
        let (status, body) = mallory.get(path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, body) = mallory.get("/v1/conversations").await;
    assert_eq!(status, 200);
    assert_eq!(body["conversations"], json!([]));
    let (status, body) = mallory.get("/v1/conversations/not-an-id/messages").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = mallory.get("/v1/nothing-here").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}
