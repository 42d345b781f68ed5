//! 1:1 chat end to end over real sockets: in-order delivery to every device, idempotent
//! retries, offline catch-up through `sync`, and the HTTP history and conversation list.
//! Group fan-out too (from the embedded store's feed, or from the DynamoDB stream), in one
//! order on every device however many send at once. Written once, run against every backend
//! (`scenario_suite!`).

use crate::{TestServer, WsClient};
use serde_json::{Value, json};

fn send_to(to: &str, client_msg_id: &str, body: &str) -> Value {
    json!({ "action": "send", "to": to, "client_msg_id": client_msg_id, "body": body })
}

pub async fn two_users_on_three_devices_see_every_message_in_seq_order(server: &TestServer) {
    let mut alice_phone = server.connect("alice", "phone").await;
    let mut alice_laptop = server.connect("alice", "laptop").await;
    let mut bob_phone = server.connect("bob", "phone").await;

    for n in 1..=5 {
        alice_phone
            .send_json(&send_to("bob", &format!("a-{n}"), &format!("hi {n}")))
            .await;
        let ack = alice_phone.expect("ack").await;
        assert_eq!(ack["seq"], n);
        assert_eq!(ack["client_msg_id"], format!("a-{n}"));
        assert_eq!(ack["conversation_id"], "dm:alice:bob");
        assert!(ack["message_id"].as_str().is_some_and(|id| !id.is_empty()));
        assert!(ack["sent_at"].as_i64().is_some_and(|t| t > 0));
    }
    // Bob replies by conversation id.
    bob_phone
        .send_json(
            &json!({ "action": "send", "conversation_id": "dm:alice:bob",
            "client_msg_id": "b-1", "body": "hello back", "reply_to": 5 }),
        )
        .await;

    // Bob's phone: alice's five, in order (his own reply is answered by an ack only).
    for n in 1..=5 {
        let message = bob_phone.expect("message").await;
        assert_eq!(message["seq"], n);
        assert_eq!(message["sender_id"], "alice");
        assert_eq!(message["body"], format!("hi {n}"));
        assert_eq!(message["client_msg_id"], format!("a-{n}"));
    }
    let ack = bob_phone.expect("ack").await;
    assert_eq!(ack["seq"], 6);

    // Alice's other device: her own five and bob's reply, the same seqs.
    for n in 1..=6 {
        let message = alice_laptop.expect("message").await;
        assert_eq!(message["seq"], n);
    }
    // The sending phone: bob's reply only.
    let reply = alice_phone.expect("message").await;
    assert_eq!(reply["seq"], 6);
    assert_eq!(reply["sender_id"], "bob");
    assert_eq!(reply["reply_to"], 5);
    assert_eq!(reply["body"], "hello back");
    alice_phone.expect_silence().await;
    bob_phone.expect_silence().await;
}

pub async fn a_retried_send_returns_the_same_ack_and_stores_nothing_new(server: &TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    let frame = send_to("bob", "retry-1", "only once");
    alice.send_json(&frame).await;
    let first = alice.expect("ack").await;
    alice.send_json(&frame).await;
    let second = alice.expect("ack").await;
    assert_eq!(first, second);

    // A fresh connection (the app restarted) retrying gets the same answer too.
    let mut alice_again = server.connect("alice", "phone").await;
    alice_again.send_json(&frame).await;
    assert_eq!(alice_again.expect("ack").await, first);

    let (status, page) = server
        .http_as("alice")
        .await
        .get("/v1/conversations/dm:alice:bob/messages")
        .await;
    assert_eq!(status, 200, "{page}");
    let messages = page["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "{page}");
    assert_eq!(messages[0]["message_id"], first["message_id"]);
}

pub async fn an_offline_recipient_catches_up_with_sync(server: &TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    for n in 1..=3 {
        alice
            .send_json(&send_to(
                "bob",
                &format!("m-{n}"),
                &format!("while you were out {n}"),
            ))
            .await;
        alice.expect("ack").await;
    }

    let mut bob = server.connect("bob", "phone").await;
    bob.expect_silence().await;
    bob.send_json(&json!({ "action": "sync" })).await;
    let summary = bob.expect("sync").await;
    let conversations = summary["conversations"].as_array().expect("conversations");
    assert_eq!(conversations.len(), 1, "{summary}");
    let dm = &conversations[0];
    assert_eq!(dm["conversation_id"], "dm:alice:bob");
    assert_eq!(dm["kind"], "direct");
    assert_eq!(dm["last_seq"], 3);
    assert_eq!(dm["read_seq"], 0);
    assert_eq!(dm["unread"], 3);

    bob.send_json(&json!({ "action": "sync", "conversation_id": "dm:alice:bob", "after_seq": 1 }))
        .await;
    let page = bob.expect("messages").await;
    assert_eq!(page["conversation_id"], "dm:alice:bob");
    assert_eq!(page["has_more"], false);
    let seqs: Vec<i64> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, vec![2, 3]);

    // Marking them read moves the summary and tells alice.
    bob.send_json(
        &json!({ "action": "receipt", "conversation_id": "dm:alice:bob",
        "seq": 3, "kind": "read" }),
    )
    .await;
    let receipt = alice.expect("receipt").await;
    assert_eq!(receipt["user_id"], "bob");
    assert_eq!(receipt["kind"], "read");
    assert_eq!(receipt["seq"], 3);
    bob.send_json(&json!({ "action": "sync" })).await;
    let summary = bob.expect("sync").await;
    assert_eq!(summary["conversations"][0]["unread"], 0);
    assert_eq!(summary["conversations"][0]["read_seq"], 3);
}

pub async fn sync_pages_a_long_backlog(server: &TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    for n in 1..=12 {
        alice
            .send_json(&send_to("bob", &format!("p-{n}"), "x"))
            .await;
        alice.expect("ack").await;
    }
    let mut bob = server.connect("bob", "phone").await;
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        bob.send_json(
            &json!({ "action": "sync", "conversation_id": "dm:alice:bob",
            "after_seq": after, "limit": 5 }),
        )
        .await;
        let page = bob.expect("messages").await;
        let messages = page["messages"].as_array().expect("messages");
        assert!(messages.len() <= 5);
        seen.extend(messages.iter().map(|m| m["seq"].as_i64().expect("seq")));
        after = *seen.last().expect("a page is never empty before the end");
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(seen, (1..=12).collect::<Vec<i64>>());
}

pub async fn http_history_pages_backwards_and_the_conversation_list_is_newest_first(
    server: &TestServer,
) {
    let mut alice = server.connect("alice", "phone").await;
    for n in 1..=7 {
        alice
            .send_json(&send_to("bob", &format!("h-{n}"), &format!("msg {n}")))
            .await;
        alice.expect("ack").await;
    }
    alice.send_json(&send_to("carol", "c-1", "hi carol")).await;
    alice.expect("ack").await;

    let http = server.http_as("alice").await;
    // Newest page first, each page in seq order, a cursor to the older one.
    let (status, page) = http
        .get("/v1/conversations/dm:alice:bob/messages?limit=3")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(seqs(&page), vec![5, 6, 7]);
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_string();
    let (_, page) = http
        .get(&format!(
            "/v1/conversations/dm:alice:bob/messages?limit=3&cursor={cursor}"
        ))
        .await;
    assert_eq!(seqs(&page), vec![2, 3, 4]);
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_string();
    let (_, page) = http
        .get(&format!(
            "/v1/conversations/dm:alice:bob/messages?limit=3&cursor={cursor}"
        ))
        .await;
    assert_eq!(seqs(&page), vec![1]);
    assert!(page["next_cursor"].is_null(), "{page}");
    // Forward from a seq.
    let (_, page) = http
        .get("/v1/conversations/dm:alice:bob/messages?after=5")
        .await;
    assert_eq!(seqs(&page), vec![6, 7]);

    let (status, list) = http.get("/v1/conversations").await;
    assert_eq!(status, 200, "{list}");
    let items = list["conversations"].as_array().expect("conversations");
    let ids: Vec<&str> = items
        .iter()
        .map(|c| c["conversation_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec!["dm:alice:carol", "dm:alice:bob"]);
    assert_eq!(items[1]["last_seq"], 7);
    assert_eq!(items[1]["last_message"]["preview"], "msg 7");
    assert_eq!(items[1]["unread"], 0, "alice wrote them all");

    let (_, bobs) = server.http_as("bob").await.get("/v1/conversations").await;
    assert_eq!(bobs["conversations"][0]["unread"], 7, "{bobs}");
}

fn seqs(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {page}"))
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect()
}

pub async fn group_messages_reach_every_online_member_once(server: &TestServer) {
    server.seed_group("team", "alice", &["bob", "carol"]).await;
    let mut alice_phone = server.connect("alice", "phone").await;
    let mut alice_laptop = server.connect("alice", "laptop").await;
    let mut bob = server.connect("bob", "phone").await;
    let mut carol = server.connect("carol", "tablet").await;
    let mut dave = server.connect("dave", "phone").await;

    for n in 1..=3 {
        alice_phone
            .send_json(&json!({ "action": "send", "conversation_id": "grp:team",
                "client_msg_id": format!("g-{n}"), "body": format!("team {n}") }))
            .await;
        assert_eq!(alice_phone.expect("ack").await["seq"], n);
    }
    for device in [&mut bob, &mut carol, &mut alice_laptop] {
        for n in 1..=3 {
            let message = device.expect("message").await;
            assert_eq!(message["conversation_id"], "grp:team");
            assert_eq!(message["seq"], n);
            assert_eq!(message["sender_id"], "alice");
        }
        device.expect_silence().await;
    }
    // The sending device has its acks; nobody outside the group hears anything.
    alice_phone.expect_silence().await;
    dave.expect_silence().await;
    dave.send_json(&json!({ "action": "send", "conversation_id": "grp:team",
        "client_msg_id": "d-1", "body": "let me in" }))
        .await;
    assert_eq!(dave.expect("error").await["code"], "forbidden");

    bob.send_json(&json!({ "action": "sync" })).await;
    let summary = bob.expect("sync").await;
    let team = summary["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .find(|c| c["conversation_id"] == "grp:team")
        .cloned()
        .unwrap_or_else(|| panic!("no grp:team in {summary}"));
    assert_eq!(team["kind"], "group");
    assert_eq!(team["last_seq"], 3);
    assert_eq!(team["unread"], 3);
}

/// What one device saw of a burst: its own sends' seqs (from the acks) and, in arrival order,
/// the seqs of every `message` pushed to it.
pub struct Seen {
    pub own: Vec<u64>,
    pub pushed: Vec<u64>,
}

/// Every device sends `each` messages into `conversation` at once, none waiting for an ack;
/// then each reads its acks and the `message` events of every other device. Answers what each
/// saw, in the order of `devices`.
pub async fn burst(devices: &mut [WsClient], conversation: &str, each: usize) -> Vec<Seen> {
    for (d, device) in devices.iter_mut().enumerate() {
        for n in 0..each {
            device
                .send_json(&json!({ "action": "send", "conversation_id": conversation,
                    "client_msg_id": format!("burst-{d}-{n}"), "body": format!("{d}/{n}") }))
                .await;
        }
    }
    let others = (devices.len() - 1) * each;
    let mut seen = Vec::new();
    for device in devices.iter_mut() {
        let (acks, messages) = device.acks_and_messages(each, others).await;
        let seq = |e: &Value| e["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {e}"));
        seen.push(Seen {
            own: acks.iter().map(seq).collect(),
            pushed: messages.iter().map(seq).collect(),
        });
    }
    seen
}

/// Every device received every other device's messages exactly once and in seq order, and the
/// seqs of the burst are `1..=total`, gap-free.
pub fn assert_one_order(seen: &[Seen], total: u64) {
    let mut all: Vec<u64> = seen.iter().flat_map(|s| s.own.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(all, (1..=total).collect::<Vec<u64>>(), "the acks' seqs");
    for (d, device) in seen.iter().enumerate() {
        assert!(
            device.pushed.windows(2).all(|w| w[0] < w[1]),
            "device {d} saw messages out of order: {:?}",
            device.pushed
        );
        let mut expected: Vec<u64> = (1..=total).filter(|s| !device.own.contains(s)).collect();
        expected.sort_unstable();
        assert_eq!(
            device.pushed, expected,
            "device {d}: every other device's messages"
        );
    }
}

pub async fn twenty_devices_sending_into_one_group_see_one_order(server: &TestServer) {
    let users: Vec<String> = (0..10).map(|n| format!("crowd{n}")).collect();
    let members: Vec<&str> = users[1..].iter().map(String::as_str).collect();
    server.seed_group("crowd", &users[0], &members).await;
    let mut devices = Vec::new();
    for user in &users {
        for device in ["phone", "laptop"] {
            devices.push(server.connect(user, device).await);
        }
    }
    let seen = burst(&mut devices, "grp:crowd", 5).await;
    assert_one_order(&seen, 100);
}
