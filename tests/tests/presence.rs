//! Presence and last seen over real sockets: a `presence` frame answers and subscribes, a
//! reconnect within the grace flaps nobody, going offline is announced after it (both
//! backends); visibility both ways, `GET /v1/users/{id}`, `PUT /v1/me`, and activity written at
//! most once a minute (embedded store).

use std::time::Duration;

use chat_tests::{TestServer, WsClient};
use serde_json::{Value, json};

/// The grace the tests run with: short, so that "offline" comes within a test, and long
/// enough for a disconnect, a question and a reconnect to fit in it on moto.
const GRACE: Duration = Duration::from_millis(1_500);

async fn server(aws: bool) -> TestServer {
    let adjust = |config: &mut chat_local::Config| config.presence_grace = GRACE;
    if aws {
        TestServer::start_aws_with(adjust).await
    } else {
        TestServer::start_with(adjust).await
    }
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since_epoch.as_millis()).expect("ms fit in i64")
}

async fn ask(socket: &mut WsClient, users: &[&str]) -> Vec<Value> {
    socket
        .send_json(&json!({ "action": "presence", "user_ids": users }))
        .await;
    let mut events = Vec::new();
    for _ in users {
        events.push(socket.expect("presence").await);
    }
    events
}

async fn presence_subscribes_and_a_quick_reconnect_does_not_flap(aws: bool) {
    let server = server(aws).await;
    let mut bob = server.connect("bob", "phone").await;
    bob.assert_alive().await;
    let mut alice = server.connect("alice", "phone").await;
    let answers = ask(&mut alice, &["bob", "carol"]).await;
    assert_eq!(answers[0]["user_id"], "bob");
    assert_eq!(answers[0]["online"], true, "{}", answers[0]);
    assert!(answers[0]["last_seen"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(answers[1]["user_id"], "carol");
    assert_eq!(answers[1]["online"], false);
    assert_eq!(answers[1]["last_seen"], Value::Null, "carol was never seen");

    // carol comes online: alice hears it.
    let _carol = server.connect("carol", "phone").await;
    let online = alice.expect("presence").await;
    assert_eq!(
        (online["user_id"].as_str(), online["online"].as_bool()),
        (Some("carol"), Some(true))
    );

    // bob drops and is back within the grace: nobody hears a thing.
    bob.close().await;
    let mut bob = server.connect("bob", "phone").await;
    bob.assert_alive().await;
    tokio::time::sleep(GRACE * 2).await;
    alice.expect_silence().await;

    // bob drops again, and dave asks about him once the server has seen him go (he hears
    // "offline"); bob is back within the grace: dave, who was told he left, hears he is back;
    // alice, who was not, hears nothing.
    let closed_at = now_ms();
    bob.close().await;
    let alice_http = server.http_as("alice").await;
    let deadline = tokio::time::Instant::now() + GRACE / 2;
    loop {
        let (status, seen) = alice_http.get("/v1/users/bob").await;
        assert_eq!(status, 200, "{seen}");
        let gone =
            seen["online"] == false && seen["last_seen"].as_i64().is_some_and(|t| t >= closed_at);
        if gone {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never saw bob go: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut dave = server.connect("dave", "phone").await;
    let told = ask(&mut dave, &["bob"]).await;
    assert_eq!(told[0]["online"], false, "{}", told[0]);
    let mut bob = server.connect("bob", "phone").await;
    bob.assert_alive().await;
    let back = dave.expect("presence").await;
    assert_eq!(
        (back["user_id"].as_str(), back["online"].as_bool()),
        (Some("bob"), Some(true)),
        "{back}"
    );
    tokio::time::sleep(GRACE * 2).await;
    alice.expect_silence().await;
    dave.expect_silence().await;

    // bob leaves for good: after the grace, alice hears he is offline, with his last seen.
    bob.close().await;
    let offline = alice.expect("presence").await;
    assert_eq!(
        (offline["user_id"].as_str(), offline["online"].as_bool()),
        (Some("bob"), Some(false))
    );
    assert!(
        offline["last_seen"].as_i64().is_some_and(|t| t > 0),
        "{offline}"
    );

    // The next `presence` frame replaces what alice watches: bob's return is not hers to hear.
    ask(&mut alice, &["carol"]).await;
    let _bob = server.connect("bob", "laptop").await;
    alice.expect_silence().await;
}

#[tokio::test]
async fn presence_subscribes_and_does_not_flap_on_the_embedded_store() {
    presence_subscribes_and_a_quick_reconnect_does_not_flap(false).await;
}

#[tokio::test]
async fn presence_subscribes_and_does_not_flap_on_dynamodb() {
    presence_subscribes_and_a_quick_reconnect_does_not_flap(true).await;
}

#[tokio::test]
async fn last_seen_visibility_holds_both_ways() {
    let server = server(false).await;
    let privacy = |user: &'static str, visibility: &'static str| {
        let server = &server;
        async move {
            let (status, me) = server
                .http_as(user)
                .await
                .put("/v1/me", &json!({ "last_seen_visibility": visibility }))
                .await;
            assert_eq!(status, 200, "{me}");
        }
    };
    privacy("bob", "contacts").await;
    privacy("carol", "nobody").await;
    // alice and bob share a conversation; dave shares none.
    let mut alice = server.connect("alice", "phone").await;
    alice
        .send_json(&json!({ "action": "send", "to": "bob", "client_msg_id": "hi", "body": "hi" }))
        .await;
    alice.expect("ack").await;
    let _bob = server.connect("bob", "phone").await;
    let _carol = server.connect("carol", "phone").await;
    let mut dave = server.connect("dave", "phone").await;
    let mut carol_asks = server.connect("carol", "laptop").await;

    let shown = |event: &Value| (event["online"].as_bool(), event["last_seen"].is_i64());
    let answers = ask(&mut alice, &["bob", "carol"]).await;
    assert_eq!(shown(&answers[0]), (Some(true), true), "a contact sees bob");
    assert_eq!(
        shown(&answers[1]),
        (Some(false), false),
        "carol hides from everyone"
    );
    let answers = ask(&mut dave, &["bob", "alice"]).await;
    assert_eq!(
        shown(&answers[0]),
        (Some(false), false),
        "dave is not bob's contact"
    );
    assert_eq!(
        shown(&answers[1]),
        (Some(true), true),
        "alice shows everyone"
    );
    let answers = ask(&mut carol_asks, &["alice"]).await;
    assert_eq!(
        shown(&answers[0]),
        (Some(false), false),
        "who hides sees nobody"
    );

    // The same rules over HTTP; the name is never hidden.
    let (status, _) = server
        .http_as("bob")
        .await
        .put("/v1/me", &json!({ "display_name": "  Bob B.  " }))
        .await;
    assert_eq!(status, 200);
    let (status, bob) = server.http_as("alice").await.get("/v1/users/bob").await;
    assert_eq!(status, 200, "{bob}");
    assert_eq!(
        (bob["display_name"].as_str(), bob["online"].as_bool()),
        (Some("Bob B."), Some(true))
    );
    assert!(bob["last_seen"].is_i64(), "{bob}");
    let (_, bob) = server.http_as("dave").await.get("/v1/users/bob").await;
    assert_eq!(
        (bob["display_name"].as_str(), bob["online"].as_bool()),
        (Some("Bob B."), Some(false))
    );
    assert_eq!(bob["last_seen"], Value::Null);
    let (status, nobody) = server.http_as("alice").await.get("/v1/users/zed").await;
    assert_eq!(
        (status, &nobody["online"], &nobody["last_seen"]),
        (200, &json!(false), &Value::Null)
    );
}

#[tokio::test]
async fn my_profile_changes_field_by_field_and_refuses_bad_input() {
    let server = server(false).await;
    let me = server.http_as("erin").await;
    let (status, profile) = me.get("/v1/me").await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(
        profile,
        json!({ "user_id": "erin", "display_name": null,
        "last_seen_visibility": "everyone", "push_previews": true, "last_seen": null })
    );
    let (_, profile) = me
        .put(
            "/v1/me",
            &json!({ "display_name": "Erin", "push_previews": false }),
        )
        .await;
    assert_eq!(
        (
            profile["display_name"].as_str(),
            profile["push_previews"].as_bool()
        ),
        (Some("Erin"), Some(false))
    );
    let (_, profile) = me
        .put("/v1/me", &json!({ "last_seen_visibility": "contacts" }))
        .await;
    assert_eq!(profile["display_name"], "Erin", "untouched: {profile}");
    assert_eq!(profile["last_seen_visibility"], "contacts");
    let (_, profile) = me.put("/v1/me", &json!({ "display_name": null })).await;
    assert_eq!(profile["display_name"], Value::Null);
    for bad in [
        json!({ "last_seen_visibility": "friends" }),
        json!({ "display_name": "x".repeat(65) }),
        json!({ "display_name": "a\u{7}b" }),
        json!({ "nickname": "e" }),
        json!({ "push_previews": "yes" }),
    ] {
        let (status, answer) = me.put("/v1/me", &bad).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!("bad_request")),
            "{bad}: {answer}"
        );
    }
    let (status, _) = server.http_anonymous().get("/v1/me").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn presence_frames_are_checked_and_activity_is_written_once_a_minute() {
    let server = server(false).await;
    let mut frank = server.connect("frank", "phone").await;
    let too_many: Vec<String> = (0..101).map(|n| format!("u{n}")).collect();
    for frame in [
        json!({ "action": "presence" }),
        json!({ "action": "presence", "user_ids": too_many }),
        json!({ "action": "presence", "user_ids": ["bad id"] }),
    ] {
        frank.send_json(&frame).await;
        let error = frank.expect("error").await;
        assert_eq!(
            (error["code"].as_str(), error["action"].as_str()),
            (Some("bad_request"), Some("presence")),
            "{error}"
        );
    }
    frank.assert_alive().await;
    let last_seen = || async {
        let (_, me) = server.http_as("frank").await.get("/v1/me").await;
        me["last_seen"].as_i64().expect("seen")
    };
    // `$connect` wrote last seen; activity within the next minute writes nothing more.
    let at_connect = last_seen().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    frank.assert_alive().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    frank.assert_alive().await;
    assert_eq!(
        last_seen().await,
        at_connect,
        "a write within the connection's first minute"
    );
}
