//! `GET /dev/metrics` counts what the Lambdas report to CloudWatch, from the same code: a
//! group message to one online and one offline member is one message stored, one fan-out of
//! the online member's connection, posts, and a push. (One test in its own binary: the tally
//! is the process's, as a Lambda container's is.)

use std::time::Duration;

use chat_tests::TestServer;
use serde_json::{Value, json};

async fn metrics(server: &TestServer) -> Value {
    let response = reqwest::get(server.http_url("/dev/metrics"))
        .await
        .expect("GET /dev/metrics");
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.expect("body")).expect("JSON")
}

#[tokio::test]
async fn a_group_message_is_counted_as_stored_fanned_out_posted_and_pushed() {
    let server = TestServer::start_with(|config| config.push_quiet = Duration::ZERO).await;
    let before = metrics(&server).await;
    assert_eq!(before["namespace"], "Chat");
    for name in [
        "MessagesStored",
        "Posts",
        "GonePruned",
        "Throttles",
        "Pushes",
        "StreamBatchFailures",
    ] {
        assert_eq!(before["counters"][name], 0, "{name} listed from the start");
    }

    let group = server
        .create_group("alice", "trip", &["bob", "carol"])
        .await;
    let (status, body) = server
        .http_as("carol")
        .await
        .post(
            "/v1/devices",
            &json!({ "device_id": "phone", "platform": "fcm", "token": "carol-token" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut alice = server.connect("alice", "laptop").await;
    let mut bob = server.connect("bob", "phone").await;
    let start = metrics(&server).await;

    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "m1", "body": "who's in?" }))
        .await;
    alice.expect("ack").await;
    bob.expect_past_system("message").await;
    // A retry stores nothing new and is not counted as a message.
    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "m1", "body": "who's in?" }))
        .await;
    alice.expect("ack").await;

    // The fan-out and push run off the sender's path (the stream consumer): wait for them.
    let mut after = metrics(&server).await;
    for _ in 0..100 {
        if after["counters"]["Pushes"].as_u64() >= Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = metrics(&server).await;
    }
    let delta = |name: &str| {
        after["counters"][name].as_u64().unwrap_or(0)
            - start["counters"][name].as_u64().unwrap_or(0)
    };
    assert_eq!(delta("MessagesStored"), 1, "{after}");
    assert_eq!(delta("Pushes"), 1, "carol, offline with a phone: {after}");
    // Bob's phone got a post (alice's laptop got the route's answer, not a post). The group's
    // own system messages may fan out in this window too, so these are lower bounds.
    assert!(delta("Posts") >= 1, "{after}");
    assert_eq!(delta("GonePruned"), 0);
    assert_eq!(delta("StreamBatchFailures"), 0);
    let fanouts = after["histograms"]["FanoutConnections"]["count"]
        .as_u64()
        .unwrap_or(0)
        - start["histograms"]["FanoutConnections"]["count"]
            .as_u64()
            .unwrap_or(0);
    assert!(fanouts >= 1, "{after}");
    assert!(after["histograms"]["FanoutMs"]["max"].as_f64() >= Some(0.0));
}
