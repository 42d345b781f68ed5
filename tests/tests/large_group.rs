//! A group of 10,000 members on chat-local (embedded store), 2,000 of them online: every online
//! member's device gets each message exactly once and in seq order, the group is made in one
//! request, and its details page the members. (`chat-bench fanout` measures 10,000 online
//! devices; 2,000 keep this test's sockets and time in bounds on a 2-core CI machine.)

use chat_tests::{TestServer, WsClient};
use futures_util::{StreamExt, future};
use serde_json::{Value, json};

const MEMBERS: usize = 10_000;
const ONLINE: usize = 2_000;

fn member(n: usize) -> String {
    format!("m{n:05}")
}

/// The seqs of the next `count` events of `device`, which must all be `message`s.
async fn next_seqs(device: &mut WsClient, count: usize) -> Vec<u64> {
    let mut seqs = Vec::with_capacity(count);
    for _ in 0..count {
        let event: Value = device.expect("message").await;
        seqs.push(event["seq"].as_u64().expect("seq"));
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_members_each_online_device_gets_every_message_once_in_order() {
    let server = TestServer::start().await;
    // The first ONLINE members connect, 50 at a time.
    let mut devices: Vec<WsClient> = futures_util::stream::iter(0..ONLINE)
        .map(|n| {
            let server = &server;
            async move { server.connect(&member(n), "phone").await }
        })
        .buffered(50)
        .collect()
        .await;
    let mut owner = server.connect("owner", "phone").await;

    let everyone: Vec<String> = (0..MEMBERS - 1).map(member).collect();
    let names: Vec<&str> = everyone.iter().map(String::as_str).collect();
    let group = server.create_group("owner", "Everyone", &names).await;
    for n in 2..=5 {
        owner
            .send_json(&json!({ "action": "send", "conversation_id": group,
                "client_msg_id": format!("all-{n}"), "body": format!("to all {n}") }))
            .await;
        assert_eq!(owner.expect("ack").await["seq"], n);
    }
    // Each online device: `created`, then the four, and nothing in between (a duplicate
    // would come before the last).
    let seen = future::join_all(devices.iter_mut().map(|d| next_seqs(d, 5))).await;
    for (n, seqs) in seen.iter().enumerate() {
        assert_eq!(seqs, &[1, 2, 3, 4, 5], "device of {}", member(n));
    }
    owner.expect("message").await; // `created`, the owner's device too

    let http = server.http_as("owner").await;
    let (status, details) = http.get(&format!("/v1/conversations/{group}")).await;
    assert_eq!(status, 200, "{details}");
    assert_eq!(details["member_count"], MEMBERS);
    assert_eq!(details["members"].as_array().map(Vec::len), Some(100));
    let cursor = details["next_members_cursor"].as_str().expect("a cursor");
    let (_, next) = http
        .get(&format!(
            "/v1/conversations/{group}?members_cursor={cursor}"
        ))
        .await;
    assert_eq!(
        next["members"][0]["user_id"],
        member(100),
        "{}",
        next["members"][0]
    );
}
