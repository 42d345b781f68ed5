//! The per-user send limit over real sockets, on both backends: past the burst a `send` is
//! answered `rate_limited` with `retry_after_ms` and stores nothing; the socket stays up;
//! every acknowledged message is in history exactly once; the refused ones, retried with the
//! same `client_msg_id` after the pause, are stored then; other users are not held back.

use std::time::Duration;

use chat_local::Config;
use chat_tests::TestServer;
use serde_json::{Value, json};

/// 2 sends at once, then 20 a second: a refusal asks for a pause of 100 ms at most.
fn limited(config: &mut Config) {
    config.send_burst = 2;
    config.send_rate = 20;
}

fn send(client_msg_id: &str) -> Value {
    json!({ "action": "send", "to": "bob", "client_msg_id": client_msg_id, "body": client_msg_id })
}

async fn past_the_burst_sends_are_refused_then_stored_on_retry(server: TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    let ids: Vec<String> = (0..8).map(|i| format!("burst-{i}")).collect();
    for id in &ids {
        alice.send_json(&send(id)).await;
    }
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for _ in &ids {
        let event = alice.next_event().await;
        match event["type"].as_str() {
            Some("ack") => acked.push(
                event["client_msg_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
            Some("error") => {
                assert_eq!(event["code"], "rate_limited", "{event}");
                assert_eq!(event["action"], "send", "{event}");
                let wait = event["retry_after_ms"].as_i64().expect("retry_after_ms");
                // The bucket refills a send in 50 ms; the shared windows are 100 ms long.
                assert!((1..=100).contains(&wait), "{event}");
                refused.push(
                    event["client_msg_id"]
                        .as_str()
                        .expect("client_msg_id")
                        .to_string(),
                );
            }
            _ => panic!("unexpected {event}"),
        }
    }
    // The frames arrive within a few milliseconds: the burst and at most a refill or two.
    assert!(acked.len() >= 2, "acked {acked:?}");
    assert!(!refused.is_empty(), "nothing refused: acked {acked:?}");
    alice.assert_alive().await;

    // Bob is not held back by alice's allowance.
    let mut bob = server.connect("bob", "phone").await;
    bob.send_json(
        &json!({ "action": "send", "to": "alice", "client_msg_id": "bob-1", "body": "hi" }),
    )
    .await;
    bob.expect("ack").await;

    // Retried at the pace asked for, every refused send is stored, once.
    for id in &refused {
        loop {
            alice.send_json(&send(id)).await;
            let mut event = alice.next_event().await;
            // Bob's message reaches alice too.
            while event["type"] == "message" {
                event = alice.next_event().await;
            }
            if event["type"] == "ack" {
                break;
            }
            assert_eq!(event["code"], "rate_limited", "{event}");
            let wait = event["retry_after_ms"].as_u64().expect("retry_after_ms");
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
    let (status, page) = server
        .http_as("alice")
        .await
        .get("/v1/conversations/dm:alice:bob/messages?limit=100")
        .await;
    assert_eq!(status, 200, "{page}");
    let mut stored: Vec<String> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["sender_id"] == "alice")
        .map(|m| {
            m["client_msg_id"]
                .as_str()
                .expect("client_msg_id")
                .to_string()
        })
        .collect();
    stored.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(stored, expected, "each message once, none lost");
}

#[tokio::test]
async fn embedded_backend_limits_sends_per_user() {
    past_the_burst_sends_are_refused_then_stored_on_retry(TestServer::start_with(limited).await)
        .await;
}

#[tokio::test]
async fn aws_backend_limits_sends_per_user() {
    past_the_burst_sends_are_refused_then_stored_on_retry(
        TestServer::start_aws_with(limited).await,
    )
    .await;
}
