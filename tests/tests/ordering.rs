//! In-order delivery of direct messages on the embedded store, where one process holds every
//! socket and the store's change feed fans every message out in seq order. (On AWS `send`
//! pushes direct messages itself and concurrent invocations may post them out of order; see
//! docs/protocol.md, "Ordering and delivery". Group order is a scenario run on both backends.)

use chat_tests::TestServer;
use chat_tests::scenarios::{assert_one_order, burst};

#[tokio::test]
async fn six_devices_of_two_users_sending_at_once_each_see_seq_order() {
    let server = TestServer::start().await;
    let mut devices = Vec::new();
    for user in ["alice", "bob"] {
        for device in ["phone", "laptop", "tablet"] {
            devices.push(server.connect(user, device).await);
        }
    }
    // The conversation must exist for a send by id: its first message opens it.
    devices[0]
        .send_json(&serde_json::json!({ "action": "send", "to": "bob",
            "client_msg_id": "open", "body": "hi" }))
        .await;
    devices[0].expect("ack").await;
    for device in &mut devices[1..] {
        assert_eq!(device.expect("message").await["seq"], 1);
    }
    let seen = burst(&mut devices, "dm:alice:bob", 10).await;
    assert_one_order(&seen, 2..=61);
}

#[tokio::test]
async fn five_quick_sends_from_one_phone_arrive_in_order() {
    let server = TestServer::start().await;
    let mut alice = server.connect("alice", "phone").await;
    let mut bob = server.connect("bob", "phone").await;
    for n in 1..=5 {
        alice
            .send_json(&serde_json::json!({ "action": "send", "to": "bob",
                "client_msg_id": format!("quick-{n}"), "body": format!("quick {n}") }))
            .await;
    }
    let seqs: Vec<u64> = bob
        .acks_and_messages(0, 5)
        .await
        .1
        .iter()
        .map(|m| m["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
}
