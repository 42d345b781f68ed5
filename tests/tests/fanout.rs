//! Fan-out under faults, on both backends: a connection that vanished without `$disconnect` is
//! met by a post, found gone (410) and pruned, and everyone else still gets the message; on
//! `--backend aws`, posts the `@connections` API throttles (429 `LimitExceededException`) are
//! retried and arrive once, never lost nor doubled.

use chat_domain::{ConnectionId, DeviceId, Millis, UserId};
use chat_ports::Connection;
use chat_tests::TestServer;
use serde_json::json;

async fn a_gone_connection_met_by_a_group_message_is_pruned(server: TestServer) {
    let mut alice = server.connect("alice", "phone").await;
    let mut bob = server.connect("bob", "phone").await;
    let mut carol = server.connect("carol", "phone").await;
    let group = server
        .create_group("alice", "Team", &["bob", "carol"])
        .await;
    for device in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(device.expect("message").await["seq"], 1, "`created`");
    }
    // carol's tablet went away without `$disconnect`: the store still lists it.
    let store = server.connection_store().await;
    let now = Millis(chrono_now());
    let carol_id = UserId::parse("carol").expect("user");
    let vanished = Connection {
        connection_id: ConnectionId::parse("VmFuaXNoZWQ=").expect("id"),
        user_id: carol_id.clone(),
        device_id: DeviceId::parse("tablet").expect("device"),
        connected_at: now,
        expires_at: now.plus_ms(3_600_000),
    };
    store.put_connection(&vanished).await.expect("plant");
    assert_eq!(
        store
            .connections_of(&carol_id, now)
            .await
            .expect("list")
            .len(),
        2
    );

    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "g-1", "body": "hello team" }))
        .await;
    assert_eq!(alice.expect("ack").await["seq"], 2);
    for device in [&mut bob, &mut carol] {
        let message = device.expect("message").await;
        assert_eq!(
            (message["seq"].as_u64(), message["body"].as_str()),
            (Some(2), Some("hello team"))
        );
        device.expect_silence().await;
    }
    let left = store.connections_of(&carol_id, now).await.expect("list");
    assert_eq!(left.len(), 1, "the gone connection was pruned: {left:?}");
    assert_ne!(left[0].connection_id, vanished.connection_id);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

// DynamoDB only: on the embedded backend the connections are the gateway's own sockets
// (`chat_local::MemoryConnections`), none can vanish without `$disconnect`, and there is no
// store to plant one in. The pruning itself is the handlers' (`shared/handlers/tests`, on
// the embedded store's connections).
#[tokio::test]
async fn a_gone_connection_is_pruned_on_dynamodb() {
    a_gone_connection_met_by_a_group_message_is_pruned(TestServer::start_aws().await).await;
}

#[tokio::test]
async fn throttled_posts_are_retried_and_arrive_exactly_once() {
    // Every third post to @connections is refused with a 429, on the real management API
    // adapter (its retries are the only ones: the SDK's are off).
    let server = TestServer::start_aws_with(|config| config.fault_throttle_every = 3).await;
    let members: Vec<String> = (0..6).map(|n| format!("m{n}")).collect();
    let names: Vec<&str> = members.iter().map(String::as_str).collect();
    let mut devices = Vec::new();
    for member in &members {
        devices.push(server.connect(member, "phone").await);
    }
    let mut owner = server.connect("owner", "phone").await;
    let group = server.create_group("owner", "Busy", &names).await;
    for device in devices.iter_mut().chain([&mut owner]) {
        assert_eq!(device.expect("message").await["seq"], 1, "`created`");
    }
    for n in 2..=6 {
        owner
            .send_json(&json!({ "action": "send", "conversation_id": group,
                "client_msg_id": format!("b-{n}"), "body": format!("burst {n}") }))
            .await;
        assert_eq!(owner.expect("ack").await["seq"], n);
    }
    for device in &mut devices {
        let seqs: Vec<u64> = device
            .acks_and_messages(0, 5)
            .await
            .1
            .iter()
            .map(|m| m["seq"].as_u64().expect("seq"))
            .collect();
        assert_eq!(seqs, vec![2, 3, 4, 5, 6], "each once, in order");
        device.expect_silence().await;
    }
    // And the throttling was real: of any three posts in a row, one is refused.
    // Percent-encoded as the SDK sends it: an id is base64, so it may hold `/` and `+`.
    let id: String = owner
        .connection_id()
        .await
        .chars()
        .map(|c| match c {
            '/' => "%2F".to_string(),
            '+' => "%2B".to_string(),
            '=' => "%3D".to_string(),
            other => other.to_string(),
        })
        .collect();
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = http
            .post(format!(
                "{}/@connections/{id}",
                server.management_endpoint()
            ))
            .body("{}")
            .send()
            .await
            .expect("post");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
}
