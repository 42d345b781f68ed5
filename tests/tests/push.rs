//! Push to offline phones, end to end on both backends: devices registered over HTTP, a burst
//! of group messages to a member whose phone is offline is one notification, a muted member
//! and an online device get none, the sender never does, and previews turned off say only
//! "New message". `GET /dev/pushes` lists what went out (through SNS on moto).

use std::time::Duration;

use chat_tests::{HttpClient, TestServer};
use serde_json::{Value, json};

async fn pushes_of(server: &TestServer, user: &str) -> Vec<Value> {
    let url = server.http_url(&format!("/dev/pushes?user_id={user}"));
    let body: Value = reqwest::get(url)
        .await
        .expect("GET /dev/pushes")
        .json()
        .await
        .expect("JSON");
    body["pushes"].as_array().cloned().unwrap_or_default()
}

/// Waits until `user` has `count` notifications (or fails), then a little more, so that a
/// notification too many would show.
async fn expect_pushes(server: &TestServer, user: &str, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        if pushes_of(server, user).await.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pushes = pushes_of(server, user).await;
    assert_eq!(pushes.len(), count, "{user}: {pushes:#?}");
    pushes
}

async fn register(http: &HttpClient, device: &str, token: &str) {
    let (status, body) = http
        .post(
            "/v1/devices",
            &json!({ "device_id": device, "platform": "fcm", "token": token }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["device_id"], device);
}

fn unique(name: &str) -> String {
    format!("{name}-{:016x}", rand_bits())
}

fn rand_bits() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    hasher.finish()
}

/// What moto recorded as published to the endpoint of `token`: the messages SNS got.
async fn published_on_moto(token: &str) -> Vec<Value> {
    let endpoint = std::env::var("MOTO_ENDPOINT").expect("MOTO_ENDPOINT");
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto's data.json")
        .json()
        .await
        .expect("JSON");
    data["sns"]["PlatformEndpoint"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["attributes"]["Token"] == token)
        .flat_map(|e| {
            e["messages"]
                .as_object()
                .cloned()
                .unwrap_or_default()
                .into_values()
        })
        .filter_map(|m| m.as_str().and_then(|s| serde_json::from_str(s).ok()))
        .collect()
}

async fn offline_phones_get_one_push_per_burst(server: TestServer, quiet: Duration, on_moto: bool) {
    let group = server
        .create_group("alice", "trip", &["bob", "carol", "erin"])
        .await;
    let (alice_http, bob_http, carol_http, erin_http) = (
        server.http_as("alice").await,
        server.http_as("bob").await,
        server.http_as("carol").await,
        server.http_as("erin").await,
    );
    let (_, me) = alice_http
        .put("/v1/me", &json!({ "display_name": "Alice" }))
        .await;
    assert_eq!(me["display_name"], "Alice");
    register(&alice_http, "alice-phone", &unique("alice")).await;
    let bob_token = unique("bob");
    register(&bob_http, "bob-phone", &bob_token).await;
    register(&carol_http, "carol-phone", &unique("carol")).await;
    register(&erin_http, "erin-phone", &unique("erin")).await;
    let (status, muted) = carol_http
        .put(
            &format!("/v1/conversations/{group}/mute"),
            &json!({ "until": 4_000_000_000_000i64 }),
        )
        .await;
    assert_eq!(
        (status, &muted["muted_until"]),
        (200, &json!(4_000_000_000_000i64))
    );
    // Erin's phone is online: it hears everything on its socket, no notification.
    let mut erin = server.connect("erin", "erin-phone").await;
    let mut alice = server.connect("alice", "laptop").await;

    // A burst: one notification.
    for n in 0..5 {
        alice
            .send_json(&json!({ "action": "send", "conversation_id": group,
                "client_msg_id": format!("burst-{n}"), "body": format!("message {n}") }))
            .await;
        alice.expect_past_system("ack").await;
    }
    for _ in 0..5 {
        erin.expect_past_system("message").await;
    }
    let pushes = expect_pushes(&server, "bob", 1).await;
    let push = &pushes[0];
    assert_eq!(push["device_id"], "bob-phone");
    assert_eq!(push["title"], "Alice · trip", "{push}");
    assert!(
        push["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("message ")),
        "{push}"
    );
    assert_eq!(push["conversation_id"], group.as_str());
    assert_eq!(push["collapse_key"], group.as_str());
    assert!(push["badge"].as_u64().is_some_and(|b| b >= 1), "{push}");
    assert!(pushes_of(&server, "carol").await.is_empty(), "muted");
    assert!(pushes_of(&server, "erin").await.is_empty(), "online");
    assert!(pushes_of(&server, "alice").await.is_empty(), "the sender");
    if on_moto {
        let published = published_on_moto(&bob_token).await;
        assert_eq!(published.len(), 1, "SNS got one: {published:?}");
        let fcm: Value = serde_json::from_str(published[0]["GCM"].as_str().expect("GCM entry"))
            .expect("the FCM entry is JSON");
        let message = &fcm["fcmV1Message"]["message"];
        assert_eq!(message["notification"]["title"], "Alice · trip", "{fcm}");
        assert_eq!(message["android"]["collapse_key"], group.as_str(), "{fcm}");
    }

    // After the quiet window, with previews off: "New message", and the badge counts all.
    let (_, me) = bob_http
        .put("/v1/me", &json!({ "push_previews": false }))
        .await;
    assert_eq!(me["push_previews"], false);
    tokio::time::sleep(quiet + Duration::from_millis(100)).await;
    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "later", "body": "secret plans" }))
        .await;
    alice.expect_past_system("ack").await;
    let pushes = expect_pushes(&server, "bob", 2).await;
    assert_eq!(pushes[1]["text"], "New message", "{:?}", pushes[1]);
    // The badge is the unread total over bob's conversations (only this one).
    let (_, list) = bob_http.get("/v1/conversations").await;
    let unread = list["conversations"][0]["unread"].as_u64().expect("unread");
    assert!(unread >= 6, "{list}");
    assert_eq!(pushes[1]["badge"].as_u64(), Some(unread), "{:?}", pushes[1]);

    // Unmuted, carol hears of the next one; unregistered, bob hears of nothing more.
    let (status, _) = carol_http
        .put(
            &format!("/v1/conversations/{group}/mute"),
            &json!({ "until": null }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = bob_http.delete("/v1/devices/bob-phone").await;
    assert_eq!(status, 204);
    let (status, _) = bob_http.delete("/v1/devices/bob-phone").await;
    assert_eq!(status, 404);
    tokio::time::sleep(quiet + Duration::from_millis(100)).await;
    alice
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": "last", "body": "ok?" }))
        .await;
    alice.expect_past_system("ack").await;
    expect_pushes(&server, "carol", 1).await;
    assert_eq!(pushes_of(&server, "bob").await.len(), 2);
}

#[tokio::test]
async fn pushes_on_the_embedded_store() {
    let quiet = Duration::from_millis(300);
    offline_phones_get_one_push_per_burst(
        TestServer::start_with(|c| c.push_quiet = quiet).await,
        quiet,
        false,
    )
    .await;
}

#[tokio::test]
async fn pushes_through_sns_on_moto() {
    // The stream poller reads moto's stream about twice a second: a burst spans polls.
    let quiet = Duration::from_secs(2);
    offline_phones_get_one_push_per_burst(
        TestServer::start_aws_with(|c| c.push_quiet = quiet).await,
        quiet,
        true,
    )
    .await;
}

/// A direct message to an offline phone: one notification titled with the sender, and a
/// token that moves to another account notifies only that account.
#[tokio::test]
async fn a_token_signed_in_to_another_account_notifies_only_it() {
    let server = TestServer::start_with(|c| c.push_quiet = Duration::from_millis(300)).await;
    let token = unique("shared-phone");
    register(&server.http_as("bob").await, "phone", &token).await;
    register(&server.http_as("carol").await, "phone", &token).await;
    let (_, bobs) = server.http_as("bob").await.get("/v1/devices").await;
    assert_eq!(
        bobs["devices"],
        json!([]),
        "bob's registration moved to carol"
    );
    let mut alice = server.connect("alice", "laptop").await;
    for to in ["bob", "carol"] {
        alice
            .send_json(&json!({ "action": "send", "to": to,
                "client_msg_id": format!("hi-{to}"), "body": "hi" }))
            .await;
        alice.expect("ack").await;
    }
    let pushes = expect_pushes(&server, "carol", 1).await;
    assert_eq!(pushes[0]["title"], "alice");
    assert!(pushes_of(&server, "bob").await.is_empty());
}
