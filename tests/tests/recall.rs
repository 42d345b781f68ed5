//! `recall` in a direct conversation (pushed by `send`'s side on `--backend aws`, from the feed
//! on the embedded store), the recall window as a setting, and the refusals.

use std::time::Duration;

use chat_tests::TestServer;
use serde_json::json;

async fn a_direct_recall_reaches_both_users_devices(server: TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    let mut alice_laptop = server.connect("alice", "laptop").await;
    let mut bob = server.connect("bob", "phone").await;
    alice
        .send_json(
            &json!({ "action": "send", "to": "bob", "client_msg_id": "d-1", "body": "typo" }),
        )
        .await;
    assert_eq!(alice.expect("ack").await["seq"], 1);
    bob.expect("message").await;
    alice_laptop.expect("message").await;
    alice
        .send_json(&json!({ "action": "recall", "conversation_id": "dm:alice:bob", "seq": 1 }))
        .await;
    for device in [&mut alice, &mut alice_laptop, &mut bob] {
        let event = device.expect("recalled").await;
        assert_eq!(
            (event["seq"].as_u64(), event["by"].as_str()),
            (Some(1), Some("alice"))
        );
        device.expect_silence().await;
    }
    // Again: done already, nothing more.
    alice
        .send_json(&json!({ "action": "recall", "conversation_id": "dm:alice:bob", "seq": 1 }))
        .await;
    bob.expect_silence().await;
    bob.send_json(&json!({ "action": "sync", "conversation_id": "dm:alice:bob" }))
        .await;
    let page = bob.expect("messages").await;
    assert_eq!(page["messages"][0]["recalled"]["by"], "alice", "{page}");
    assert!(page["messages"][0].get("body").is_none());
}

#[tokio::test]
async fn a_direct_recall_on_the_embedded_store() {
    a_direct_recall_reaches_both_users_devices(TestServer::start().await).await;
}

#[tokio::test]
async fn a_direct_recall_on_dynamodb() {
    a_direct_recall_reaches_both_users_devices(TestServer::start_aws().await).await;
}

#[tokio::test]
async fn past_the_window_the_sender_may_not_and_strangers_never_may() {
    let server =
        TestServer::start_with(|config| config.recall_window = Duration::from_millis(50)).await;
    let mut alice = server.connect("alice", "phone").await;
    alice
        .send_json(
            &json!({ "action": "send", "to": "bob", "client_msg_id": "w-1", "body": "late" }),
        )
        .await;
    alice.expect("ack").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    alice
        .send_json(&json!({ "action": "recall", "conversation_id": "dm:alice:bob", "seq": 1 }))
        .await;
    let error = alice.expect("error").await;
    assert_eq!(
        (error["code"].as_str(), error["action"].as_str()),
        (Some("forbidden"), Some("recall"))
    );
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("window")),
        "{error}"
    );
    for (frame, code) in [
        (
            json!({ "action": "recall", "conversation_id": "dm:alice:bob", "seq": 9 }),
            "not_found",
        ),
        (
            json!({ "action": "recall", "conversation_id": "dm:alice:bob" }),
            "bad_request",
        ),
        (json!({ "action": "recall", "seq": 1 }), "bad_request"),
    ] {
        alice.send_json(&frame).await;
        assert_eq!(alice.expect("error").await["code"], code, "{frame}");
    }
    let mut mallory = server.connect("mallory", "phone").await;
    mallory
        .send_json(&json!({ "action": "recall", "conversation_id": "dm:alice:bob", "seq": 1 }))
        .await;
    assert_eq!(mallory.expect("error").await["code"], "forbidden");
    let (status, _) = server
        .http_as("mallory")
        .await
        .delete("/v1/conversations/dm:alice:bob/messages/1")
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .http_as("bob")
        .await
        .delete("/v1/conversations/dm:alice:bob/messages/7")
        .await;
    assert_eq!(status, 404);
}
