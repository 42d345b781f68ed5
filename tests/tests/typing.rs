//! `typing` over real sockets: forwarded to the other members' devices (never the typer's
//! own), at most one `start` per user and conversation every 2 s, a `stop` only after a
//! forwarded `start`, none in a group past the typing limit, and refused to non-members.

use chat_tests::{TestServer, WsClient};
use serde_json::json;

async fn typing(socket: &mut WsClient, conversation: &str, state: &str) {
    socket
        .send_json(&json!({ "action": "typing", "conversation_id": conversation, "state": state }))
        .await;
}

#[tokio::test]
async fn typing_reaches_the_others_once_per_interval_and_stops() {
    let server = TestServer::start().await;
    let mut alice = server.connect("alice", "phone").await;
    let mut alice_laptop = server.connect("alice", "laptop").await;
    let mut bob = server.connect("bob", "phone").await;
    let dm = "dm:alice:bob";
    // A stop with no start before it is news to nobody.
    typing(&mut alice, dm, "stop").await;
    typing(&mut alice, dm, "start").await;
    let event = bob.expect("typing").await;
    assert_eq!(
        event,
        json!({ "type": "typing", "conversation_id": dm, "user_id": "alice", "state": "start" })
    );
    // Another start within 2 s: dropped; the stop goes out.
    typing(&mut alice, dm, "start").await;
    typing(&mut alice, dm, "stop").await;
    assert_eq!(bob.expect("typing").await["state"], "stop");
    // A start again, still within 2 s of the last forwarded one: dropped, stop or not between.
    typing(&mut alice, dm, "start").await;
    bob.expect_silence().await;
    alice_laptop.expect_silence().await;
    alice.assert_alive().await;

    // In a group: every other member, not the typer's own devices.
    let mut carol = server.connect("carol", "phone").await;
    let group = server
        .create_group("alice", "Typists", &["bob", "carol"])
        .await;
    for device in [&mut alice, &mut alice_laptop, &mut bob, &mut carol] {
        device.expect("message").await;
    }
    typing(&mut carol, &group, "start").await;
    for device in [&mut alice, &mut alice_laptop, &mut bob] {
        let event = device.expect("typing").await;
        assert_eq!(
            (event["user_id"].as_str(), event["conversation_id"].as_str()),
            (Some("carol"), Some(group.as_str()))
        );
    }
    carol.expect_silence().await;

    // Refused: a stranger, a bad state, a missing conversation.
    let mut mallory = server.connect("mallory", "phone").await;
    typing(&mut mallory, &group, "start").await;
    assert_eq!(mallory.expect("error").await["code"], "forbidden");
    for frame in [
        json!({ "action": "typing", "conversation_id": dm, "state": "thinking" }),
        json!({ "action": "typing", "state": "start" }),
    ] {
        alice.send_json(&frame).await;
        let error = alice.expect("error").await;
        assert_eq!(
            (error["code"].as_str(), error["action"].as_str()),
            (Some("bad_request"), Some("typing")),
            "{error}"
        );
    }
    bob.expect_silence().await;
}

#[tokio::test]
async fn a_group_past_the_typing_limit_forwards_no_typing() {
    let server = TestServer::start_with(|config| config.typing_max_members = 2).await;
    let mut alice = server.connect("alice", "phone").await;
    let mut bob = server.connect("bob", "phone").await;
    let group = server.create_group("alice", "Big", &["bob", "carol"]).await;
    alice.expect("message").await;
    bob.expect("message").await;
    typing(&mut alice, &group, "start").await;
    bob.expect_silence().await;
    alice.assert_alive().await;
}
