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

    // Sending is reading: bob's reply is read for him, and alice's own messages are for her.
    bob.send_json(
        &json!({ "action": "send", "conversation_id": "dm:alice:bob",
        "client_msg_id": "b-1", "body": "back" }),
    )
    .await;
    assert_eq!(bob.expect("ack").await["seq"], 4);
    assert_eq!(alice.expect("message").await["seq"], 4);
    bob.send_json(&json!({ "action": "sync" })).await;
    let summary = bob.expect("sync").await;
    assert_eq!(summary["conversations"][0]["read_seq"], 4, "{summary}");
    assert_eq!(summary["conversations"][0]["unread"], 0, "{summary}");
    alice.send_json(&json!({ "action": "sync" })).await;
    let summary = alice.expect("sync").await;
    assert_eq!(summary["conversations"][0]["read_seq"], 3, "{summary}");
    assert_eq!(summary["conversations"][0]["unread"], 1, "{summary}");
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
    // The list orders by the last message's time, in milliseconds (a tie goes by id, "bob"
    // first): a fast server acks the last message to bob and stores carol's within one.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
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
    let mut alice_phone = server.connect("alice", "phone").await;
    let mut alice_laptop = server.connect("alice", "laptop").await;
    let mut bob = server.connect("bob", "phone").await;
    let mut carol = server.connect("carol", "tablet").await;
    let mut dave = server.connect("dave", "phone").await;
    let team = server
        .create_group("alice", "Team", &["bob", "carol"])
        .await;
    // Its first message, `created`, reaches every member's devices (the HTTP call has none).
    for device in [&mut alice_phone, &mut alice_laptop, &mut bob, &mut carol] {
        let created = device.expect("message").await;
        assert_eq!(created["conversation_id"], team.as_str());
        assert_eq!(created["seq"], 1);
        assert_eq!(created["system"]["event"], "created");
        assert_eq!(created["system"]["name"], "Team");
    }

    for n in 2..=4 {
        alice_phone
            .send_json(&json!({ "action": "send", "conversation_id": team,
                "client_msg_id": format!("g-{n}"), "body": format!("team {n}") }))
            .await;
        assert_eq!(alice_phone.expect("ack").await["seq"], n);
    }
    for device in [&mut bob, &mut carol, &mut alice_laptop] {
        for n in 2..=4 {
            let message = device.expect("message").await;
            assert_eq!(message["conversation_id"], team.as_str());
            assert_eq!(message["seq"], n);
            assert_eq!(message["sender_id"], "alice");
        }
        device.expect_silence().await;
    }
    // The sending device has its acks; nobody outside the group hears anything.
    alice_phone.expect_silence().await;
    dave.expect_silence().await;
    dave.send_json(&json!({ "action": "send", "conversation_id": team,
        "client_msg_id": "d-1", "body": "let me in" }))
        .await;
    assert_eq!(dave.expect("error").await["code"], "forbidden");

    bob.send_json(&json!({ "action": "sync" })).await;
    let summary = bob.expect("sync").await;
    let listed = summary["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .find(|c| c["conversation_id"] == team.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no {team} in {summary}"));
    assert_eq!(listed["kind"], "group");
    assert_eq!(listed["name"], "Team");
    assert_eq!(listed["last_seq"], 4);
    assert_eq!(listed["unread"], 4);
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
/// seqs of the burst are exactly `seqs`, gap-free.
pub fn assert_one_order(seen: &[Seen], seqs: std::ops::RangeInclusive<u64>) {
    let mut all: Vec<u64> = seen.iter().flat_map(|s| s.own.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(all, seqs.clone().collect::<Vec<u64>>(), "the acks' seqs");
    for (d, device) in seen.iter().enumerate() {
        assert!(
            device.pushed.windows(2).all(|w| w[0] < w[1]),
            "device {d} saw messages out of order: {:?}",
            device.pushed
        );
        let mut expected: Vec<u64> = seqs.clone().filter(|s| !device.own.contains(s)).collect();
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
    let mut devices = Vec::new();
    for user in &users {
        for device in ["phone", "laptop"] {
            devices.push(server.connect(user, device).await);
        }
    }
    let crowd = server.create_group(&users[0], "Crowd", &members).await;
    for device in &mut devices {
        assert_eq!(
            device.expect("message").await["seq"],
            1,
            "the `created` message"
        );
    }
    let seen = burst(&mut devices, &crowd, 5).await;
    assert_one_order(&seen, 2..=101);
}

/// The next `message` event, which must be a system message of `event`; answers it.
async fn expect_system(device: &mut WsClient, event: &str) -> Value {
    let message = device.expect("message").await;
    assert_eq!(message["system"]["event"], event, "{message}");
    assert!(
        message.get("body").is_none(),
        "a system message has no body: {message}"
    );
    message
}

pub async fn a_groups_life_is_in_every_members_history_in_order(server: &TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    let mut bob = server.connect("bob", "phone").await;
    let mut carol = server.connect("carol", "phone").await;
    let mut dave = server.connect("dave", "phone").await;
    let (alice_http, bob_http, carol_http) = (
        server.http_as("alice").await,
        server.http_as("bob").await,
        server.http_as("carol").await,
    );
    let (status, created) = alice_http
        .post(
            "/v1/conversations",
            &json!({ "name": "  Hiking  ", "members": ["bob", "carol", "alice"] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let group = created["conversation_id"].as_str().expect("id").to_string();
    assert!(group.starts_with("grp:"), "{group}");
    assert_eq!(created["name"], "Hiking");
    assert_eq!(created["role"], "owner");
    assert_eq!(created["member_count"], 3);
    assert_eq!(created["members"].as_array().map(Vec::len), Some(3));
    for device in [&mut alice, &mut bob, &mut carol] {
        expect_system(device, "created").await;
    }
    let path = |rest: &str| format!("/v1/conversations/{group}{rest}");

    // seq 2: dave is added; every member's device, dave's included, hears of it in order.
    let (status, added) = alice_http
        .post(&path("/members"), &json!({ "user_ids": ["dave", "bob"] }))
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["added"], json!(["dave"]));
    assert_eq!(added["already_members"], json!(["bob"]));
    for device in [&mut alice, &mut bob, &mut carol, &mut dave] {
        let message = expect_system(device, "member_added").await;
        assert_eq!(message["seq"], 2);
        assert_eq!(message["sender_id"], "alice");
        assert_eq!(message["system"]["user_ids"], json!(["dave"]));
        let event = device.expect("member_added").await;
        assert_eq!(
            (event["user_id"].as_str(), event["by"].as_str()),
            (Some("dave"), Some("alice"))
        );
    }

    // seq 3: bob becomes an admin; seq 4: only admins may edit the name; seq 5: bob renames it.
    let (status, role) = alice_http
        .put(&path("/members/bob"), &json!({ "role": "admin" }))
        .await;
    assert_eq!((status, &role["role"]), (200, &json!("admin")), "{role}");
    let (status, _) = alice_http
        .patch(
            &path(""),
            &json!({ "settings": { "only_admins_edit_info": true } }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, refused) = carol_http
        .patch(&path(""), &json!({ "name": "Carol's" }))
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("forbidden")),
        "{refused}"
    );
    let (status, renamed) = bob_http.patch(&path(""), &json!({ "name": "Peaks" })).await;
    assert_eq!(
        (status, &renamed["name"]),
        (200, &json!("Peaks")),
        "{renamed}"
    );
    for device in [&mut alice, &mut carol] {
        let role = expect_system(device, "role_changed").await;
        assert_eq!(
            (role["seq"].as_u64(), role["system"]["role"].as_str()),
            (Some(3), Some("admin"))
        );
        let settings = expect_system(device, "settings_changed").await;
        assert_eq!(
            settings["system"]["settings"]["only_admins_edit_info"],
            true
        );
        let renamed = expect_system(device, "renamed").await;
        assert_eq!(
            (renamed["seq"].as_u64(), renamed["sender_id"].as_str()),
            (Some(5), Some("bob"))
        );
    }

    // seq 6: alice removes carol, who hears of it and keeps her history up to it, no further.
    let (status, _) = alice_http.delete(&path("/members/carol")).await;
    assert_eq!(status, 200);
    let removal = expect_system(&mut carol, "member_removed").await;
    assert_eq!(removal["seq"], 6);
    assert_eq!(carol.expect("member_removed").await["user_id"], "carol");
    alice
        .send_json(&json!({ "action": "send", "conversation_id": group, "client_msg_id": "after", "body": "carol is gone" }))
        .await;
    carol.expect_silence().await;
    carol
        .send_json(&json!({ "action": "send", "conversation_id": group, "client_msg_id": "c-x", "body": "still here?" }))
        .await;
    assert_eq!(carol.expect("error").await["code"], "forbidden");
    let (status, history) = carol_http.get(&path("/messages")).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(seqs(&history), vec![1, 2, 3, 4, 5, 6]);
    carol
        .send_json(&json!({ "action": "sync", "conversation_id": group, "after_seq": 4 }))
        .await;
    let page = carol.expect("messages").await;
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(2), "{page}");
    assert_eq!(page["has_more"], false);
    let (status, details) = carol_http.get(&path("")).await;
    assert_eq!(
        (status, &details["error"]["code"]),
        (403, &json!("forbidden")),
        "{details}"
    );
    let (_, list) = carol_http.get("/v1/conversations").await;
    assert_eq!(list["conversations"][0]["last_seq"], 6, "{list}");
    assert_eq!(
        list["conversations"][0]["last_message"]["seq"],
        Value::Null,
        "{list}"
    );

    // alice (the owner) leaves: bob, the longest-standing admin, owns it first (seq 8).
    let (status, _) = alice_http.delete(&path("/members/alice")).await;
    assert_eq!(status, 200);
    // bob's phone has had every change since seq 3 too, and the events beside them.
    let mut kinds = Vec::new();
    while kinds.last().is_none_or(|(seq, _)| *seq < Some(9)) {
        let event = bob.next_event().await;
        if event["type"] == "message" {
            kinds.push((
                event["seq"].as_u64(),
                event["system"]["event"].as_str().map(String::from),
            ));
        }
    }
    assert_eq!(
        kinds
            .iter()
            .map(|(seq, _)| seq.unwrap_or(0))
            .collect::<Vec<u64>>(),
        vec![3, 4, 5, 6, 7, 8, 9]
    );
    assert_eq!(
        kinds[4..],
        vec![
            (Some(7), None),
            (Some(8), Some("role_changed".into())),
            (Some(9), Some("member_left".into()))
        ]
    );
    let (status, details) = bob_http.get(&path("")).await;
    assert_eq!(status, 200, "{details}");
    assert_eq!(details["role"], "owner");
    assert_eq!(details["member_count"], 2);
    assert_eq!(details["last_seq"], 9);
    let users: Vec<&str> = details["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["user_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(users, vec!["bob", "dave"]);
}

pub async fn group_ticks_reach_only_the_senders_and_move_with_the_lowest_mark(server: &TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    let mut alice_laptop = server.connect("alice", "laptop").await;
    let mut bob = server.connect("bob", "phone").await;
    let mut carol = server.connect("carol", "phone").await;
    let group = server
        .create_group("alice", "Ticks", &["bob", "carol"])
        .await;
    for device in [&mut alice, &mut alice_laptop, &mut bob, &mut carol] {
        assert_eq!(device.expect("message").await["seq"], 1);
    }
    // alice's app marks the group read (her other device hears of it).
    alice
        .send_json(
            &json!({ "action": "receipt", "conversation_id": group, "seq": 1, "kind": "read" }),
        )
        .await;
    assert_eq!(alice_laptop.expect("receipt").await["user_id"], "alice");
    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "t-2", "body": "did you get it?" }))
        .await;
    assert_eq!(alice.expect("ack").await["seq"], 2);
    for device in [&mut alice_laptop, &mut bob, &mut carol] {
        assert_eq!(device.expect("message").await["seq"], 2);
    }
    let receipt = |kind: &str| json!({ "action": "receipt", "conversation_id": group, "seq": 2, "kind": kind });

    // bob has it: alice's devices hear of it; carol, who sent nothing, does not.
    bob.send_json(&json!({ "action": "ack", "conversation_id": group, "seq": 2 }))
        .await;
    for device in [&mut alice, &mut alice_laptop] {
        let event = device.expect("receipt").await;
        assert_eq!(
            (
                event["user_id"].as_str(),
                event["kind"].as_str(),
                event["seq"].as_u64()
            ),
            (Some("bob"), Some("delivered"), Some(2))
        );
    }
    carol.expect_silence().await;
    // carol has it too: now everyone has it, and the sender gets the group's double tick.
    carol.send_json(&receipt("delivered")).await;
    for device in [&mut alice, &mut alice_laptop] {
        assert_eq!(device.expect("receipt").await["user_id"], "carol");
        let summary = device.expect("receipt_summary").await;
        assert_eq!(
            (
                summary["delivered_all_seq"].as_u64(),
                summary["read_all_seq"].as_u64()
            ),
            (Some(2), Some(0)),
            "{summary}"
        );
    }
    bob.expect_silence().await;

    bob.send_json(&receipt("read")).await;
    for device in [&mut alice, &mut alice_laptop] {
        let event = device.expect("receipt").await;
        assert_eq!(
            (event["user_id"].as_str(), event["kind"].as_str()),
            (Some("bob"), Some("read"))
        );
    }
    let http = server.http_as("alice").await;
    let info = format!("/v1/conversations/{group}/messages/2/receipts");
    let (status, who) = http.get(&info).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["read"], json!([{ "user_id": "bob" }]), "{who}");
    assert_eq!(who["delivered"], json!([{ "user_id": "carol" }]), "{who}");

    carol.send_json(&receipt("read")).await;
    for device in [&mut alice, &mut alice_laptop] {
        assert_eq!(device.expect("receipt").await["user_id"], "carol");
        let summary = device.expect("receipt_summary").await;
        assert_eq!(
            (
                summary["delivered_all_seq"].as_u64(),
                summary["read_all_seq"].as_u64()
            ),
            (Some(2), Some(2)),
            "{summary}"
        );
    }
    let (_, details) = http.get(&format!("/v1/conversations/{group}")).await;
    assert_eq!(
        (
            details["delivered_all_seq"].as_u64(),
            details["read_all_seq"].as_u64()
        ),
        (Some(2), Some(2)),
        "{details}"
    );
    let (_, who) = http.get(&info).await;
    assert_eq!(who["read"].as_array().map(Vec::len), Some(2), "{who}");
    assert_eq!(who["delivered"], json!([]), "{who}");
    // Only members may ask.
    let (status, _) = server.http_as("mallory").await.get(&info).await;
    assert_eq!(status, 403);
    for device in [&mut alice, &mut bob, &mut carol] {
        device.expect_silence().await;
    }
    // dave, added after it (his marks start past it), never saw message 2: he is not among
    // those who have it.
    let (status, added) = http
        .post(
            &format!("/v1/conversations/{group}/members"),
            &json!({ "user_ids": ["dave"] }),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    let (_, who) = http.get(&info).await;
    let everyone: Vec<&Value> = who["read"]
        .as_array()
        .into_iter()
        .chain(who["delivered"].as_array())
        .flatten()
        .collect();
    assert!(
        everyone.iter().all(|w| w["user_id"] != "dave") && everyone.len() == 2,
        "{who}"
    );
}

pub async fn recall_leaves_a_tombstone_and_delete_for_me_hides_only_mine(server: &TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    let mut bob = server.connect("bob", "phone").await;
    let mut bob_laptop = server.connect("bob", "laptop").await;
    let group = server
        .create_group("alice", "Oops", &["bob", "carol"])
        .await;
    for device in [&mut alice, &mut bob, &mut bob_laptop] {
        device.expect("message").await;
    }
    let send = |n: u64| {
        json!({ "action": "send", "conversation_id": group,
        "client_msg_id": format!("r-{n}"), "body": format!("secret {n}") })
    };
    for n in 2..=4 {
        alice.send_json(&send(n)).await;
        assert_eq!(alice.expect("ack").await["seq"], n);
        assert_eq!(bob.expect("message").await["seq"], n);
        assert_eq!(bob_laptop.expect("message").await["seq"], n);
    }
    let recall = |seq: u64| json!({ "action": "recall", "conversation_id": group, "seq": seq });

    // alice recalls her seq 4: every member's devices hear of it, hers included.
    alice.send_json(&recall(4)).await;
    let answer = alice.expect("recalled").await;
    assert_eq!(
        answer,
        json!({ "type": "recalled", "conversation_id": group, "seq": 4, "by": "alice" })
    );
    for device in [&mut bob, &mut bob_laptop] {
        let event = device.expect("recalled").await;
        assert_eq!(
            (event["seq"].as_u64(), event["by"].as_str()),
            (Some(4), Some("alice"))
        );
    }
    let bob_http = server.http_as("bob").await;
    let (_, page) = bob_http
        .get(&format!("/v1/conversations/{group}/messages"))
        .await;
    let tombstone = &page["messages"][3];
    assert_eq!(tombstone["seq"], 4);
    assert!(tombstone.get("body").is_none(), "{tombstone}");
    assert_eq!(tombstone["recalled"]["by"], "alice");
    let (_, list) = bob_http.get("/v1/conversations").await;
    let last = &list["conversations"][0]["last_message"];
    assert_eq!(
        (last["recalled"].as_bool(), &last["preview"]),
        (Some(true), &Value::Null),
        "{list}"
    );

    // bob may not recall alice's message, nor anyone a system message; an admin may.
    bob.send_json(&recall(3)).await;
    assert_eq!(bob.expect("error").await["code"], "forbidden");
    bob.send_json(&recall(1)).await;
    assert_eq!(bob.expect("error").await["code"], "bad_request");
    let (status, _) = server
        .http_as("alice")
        .await
        .put(
            &format!("/v1/conversations/{group}/members/bob"),
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        bob.expect("message").await["system"]["event"],
        "role_changed"
    );
    bob_laptop.expect("message").await;
    bob.send_json(&recall(3)).await;
    assert_eq!(bob.expect("recalled").await["seq"], 3);
    assert_eq!(bob_laptop.expect("recalled").await["by"], "bob");
    assert_eq!(alice.expect("message").await["seq"], 5, "the role change");
    assert_eq!(alice.expect("recalled").await["seq"], 3);

    // bob deletes seq 2 for himself: a stub in his history (all devices), not in alice's.
    let (status, _) = bob_http
        .delete(&format!("/v1/conversations/{group}/messages/2"))
        .await;
    assert_eq!(status, 200);
    for device in [&mut bob, &mut bob_laptop] {
        assert_eq!(device.expect("message_deleted").await["seq"], 2);
    }
    let (_, mine) = bob_http
        .get(&format!("/v1/conversations/{group}/messages"))
        .await;
    assert_eq!(mine["messages"][1]["deleted_for_me"], true, "{mine}");
    assert!(mine["messages"][1].get("body").is_none());
    let (_, hers) = server
        .http_as("alice")
        .await
        .get(&format!("/v1/conversations/{group}/messages"))
        .await;
    assert_eq!(hers["messages"][1]["body"], "secret 2");
    bob_laptop
        .send_json(
            &json!({ "action": "sync", "conversation_id": group, "after_seq": 1, "limit": 1 }),
        )
        .await;
    assert_eq!(
        bob_laptop.expect("messages").await["messages"][0]["deleted_for_me"],
        true
    );

    // bob deletes the whole conversation for himself: out of his list, history gone, until
    // the next message, which is all he then sees and all that is unread.
    let (status, _) = bob_http.delete(&format!("/v1/conversations/{group}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        bob.expect("conversation_deleted").await["conversation_id"],
        group.as_str()
    );
    let (_, list) = bob_http.get("/v1/conversations").await;
    assert!(
        list["conversations"].as_array().is_some_and(Vec::is_empty),
        "{list}"
    );
    let (_, page) = bob_http
        .get(&format!("/v1/conversations/{group}/messages"))
        .await;
    assert!(
        page["messages"].as_array().is_some_and(Vec::is_empty),
        "{page}"
    );
    alice.send_json(&send(6)).await;
    assert_eq!(alice.expect("ack").await["seq"], 6);
    let (_, list) = bob_http.get("/v1/conversations").await;
    assert_eq!(list["conversations"][0]["unread"], 1, "{list}");
    let (_, page) = bob_http
        .get(&format!("/v1/conversations/{group}/messages"))
        .await;
    assert_eq!(seqs(&page), vec![6]);
    let (_, hers) = server
        .http_as("alice")
        .await
        .get(&format!("/v1/conversations/{group}/messages"))
        .await;
    assert_eq!(seqs(&hers).len(), 6, "alice keeps it all");
}
