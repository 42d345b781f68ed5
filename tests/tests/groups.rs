//! Group management over HTTP on the embedded store: who may do what (an authorization matrix
//! over every group route and frame: no token, a stranger, a removed member, a plain member),
//! the member cap as a deployment setting, `only_admins_send`, and the owner's rules. The
//! lifecycle itself (every change in every member's history, in order) is a scenario run on
//! both backends.

use chat_tests::{HttpClient, TestServer, WsClient};
use serde_json::{Value, json};

/// A refusal carries the error body and nothing else (no data it should not).
fn assert_refused(status: u16, body: &Value, expected: u16, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert!(
        keys.iter().all(|k| *k == "error" || *k == "message"),
        "{what}: a refusal with data: {body}"
    );
    assert!(body["error"]["code"].is_string(), "{what}: {body}");
}

/// A group of alice (owner), bob (member) and dave (member), from which carol was removed.
async fn team(server: &TestServer) -> String {
    let group = server
        .create_group("alice", "Team", &["bob", "carol", "dave"])
        .await;
    let (status, _) = server
        .http_as("alice")
        .await
        .delete(&format!("/v1/conversations/{group}/members/carol"))
        .await;
    assert_eq!(status, 200);
    group
}

#[tokio::test]
async fn every_group_route_refuses_who_may_not_and_tells_nothing() {
    let server = TestServer::start().await;
    let group = team(&server).await;
    let callers: Vec<(&str, HttpClient, u16)> = vec![
        ("no token", server.http_anonymous(), 401),
        ("a stranger", server.http_as("mallory").await, 403),
        ("a removed member", server.http_as("carol").await, 403),
    ];
    let routes = |id: &str| -> Vec<(reqwest::Method, String, Option<Value>)> {
        let base = format!("/v1/conversations/{id}");
        vec![
            (reqwest::Method::GET, base.clone(), None),
            (
                reqwest::Method::PATCH,
                base.clone(),
                Some(json!({ "name": "Mine" })),
            ),
            (
                reqwest::Method::POST,
                format!("{base}/members"),
                Some(json!({ "user_ids": ["mallory"] })),
            ),
            (
                reqwest::Method::DELETE,
                format!("{base}/members/dave"),
                None,
            ),
            (
                reqwest::Method::PUT,
                format!("{base}/members/dave"),
                Some(json!({ "role": "admin" })),
            ),
        ]
    };
    // A group that does not exist answers exactly as one the caller may not see.
    for id in [group.as_str(), "grp:doesnotexist"] {
        for (who, client, expected) in &callers {
            for (method, path, body) in routes(id) {
                let (status, answer) = client.send(method.clone(), &path, body.as_ref()).await;
                assert_refused(
                    status,
                    &answer,
                    *expected,
                    &format!("{who}: {method} {path}"),
                );
            }
        }
    }
    // History: the removed member still reads hers; strangers and the anonymous do not.
    let history = format!("/v1/conversations/{group}/messages");
    let (status, answer) = server.http_anonymous().get(&history).await;
    assert_refused(status, &answer, 401, "no token: history");
    let (status, answer) = server.http_as("mallory").await.get(&history).await;
    assert_refused(status, &answer, 403, "a stranger: history");
    let (status, answer) = server.http_as("carol").await.get(&history).await;
    assert_eq!(status, 200, "{answer}");

    // A plain member may read, and may not do what only admins may.
    let bob = server.http_as("bob").await;
    let (status, details) = bob.get(&format!("/v1/conversations/{group}")).await;
    assert_eq!(
        (status, &details["role"]),
        (200, &json!("member")),
        "{details}"
    );
    for (method, path, body) in routes(&group).into_iter().skip(2) {
        let (status, answer) = bob.send(method.clone(), &path, body.as_ref()).await;
        assert_refused(status, &answer, 403, &format!("a member: {method} {path}"));
    }
    let (status, answer) = bob
        .patch(
            &format!("/v1/conversations/{group}"),
            &json!({ "settings": { "only_admins_send": true } }),
        )
        .await;
    assert_refused(status, &answer, 403, "a member: settings");

    // Frames: a stranger and the removed member are refused every write; nothing leaks.
    for who in ["mallory", "carol"] {
        let mut socket = server.connect(who, "phone").await;
        for frame in [
            json!({ "action": "send", "conversation_id": group, "client_msg_id": "x", "body": "hi" }),
            json!({ "action": "receipt", "conversation_id": group, "seq": 1, "kind": "read" }),
            json!({ "action": "ack", "conversation_id": group, "seq": 1 }),
        ] {
            socket.send_json(&frame).await;
            let error = socket.expect("error").await;
            assert_eq!(error["code"], "forbidden", "{who}: {frame}: {error}");
        }
        socket
            .send_json(&json!({ "action": "sync", "conversation_id": group }))
            .await;
        let answer = socket.next_event().await;
        match who {
            "carol" => assert_eq!(answer["type"], "messages", "{answer}"),
            _ => assert_eq!(answer["code"], "forbidden", "{answer}"),
        }
        socket.assert_alive().await;
    }
}

#[tokio::test]
async fn the_member_cap_is_a_deployment_setting_named_in_the_error() {
    let server = TestServer::start_with(|config| config.max_group_members = 3).await;
    let alice = server.http_as("alice").await;
    let (status, answer) = alice
        .post(
            "/v1/conversations",
            &json!({ "name": "Big", "members": ["b", "c", "d"] }),
        )
        .await;
    assert_refused(status, &answer, 400, "creating past the cap");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 3")),
        "{answer}"
    );
    let group = server.create_group("alice", "Small", &["b", "c"]).await;
    let (status, answer) = alice
        .post(
            &format!("/v1/conversations/{group}/members"),
            &json!({ "user_ids": ["d"] }),
        )
        .await;
    assert_refused(status, &answer, 400, "adding past the cap");
    // Leaving makes room.
    let (status, _) = server
        .http_as("c")
        .await
        .delete(&format!("/v1/conversations/{group}/members/c"))
        .await;
    assert_eq!(status, 200);
    let (status, answer) = alice
        .post(
            &format!("/v1/conversations/{group}/members"),
            &json!({ "user_ids": ["d"] }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["member_count"], 3);
}

/// Sends into `group`; answers the `ack` or `error` (skipping the group's messages, which may
/// still be on their way to a device that just connected).
async fn send(socket: &mut WsClient, group: &str, id: &str) -> Value {
    socket
        .send_json(&json!({ "action": "send", "conversation_id": group,
            "client_msg_id": id, "body": "hello" }))
        .await;
    loop {
        let event = socket.next_event().await;
        if event["type"] != "message" {
            return event;
        }
    }
}

#[tokio::test]
async fn with_only_admins_send_members_are_refused_and_admins_are_not() {
    let server = TestServer::start().await;
    let group = server
        .create_group("alice", "News", &["bob", "carol"])
        .await;
    let alice_http = server.http_as("alice").await;
    let (status, _) = alice_http
        .patch(
            &format!("/v1/conversations/{group}"),
            &json!({ "settings": { "only_admins_send": true } }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = alice_http
        .put(
            &format!("/v1/conversations/{group}/members/carol"),
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(status, 200);
    let mut bob = server.connect("bob", "phone").await;
    let refused = send(&mut bob, &group, "b-1").await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert_eq!(refused["client_msg_id"], "b-1");
    let mut carol = server.connect("carol", "phone").await;
    assert_eq!(send(&mut carol, &group, "c-1").await["type"], "ack");
    let mut alice = server.connect("alice", "phone").await;
    assert_eq!(send(&mut alice, &group, "a-1").await["type"], "ack");
}

#[tokio::test]
async fn the_owner_is_never_demoted_nor_removed_and_roles_are_admin_or_member() {
    let server = TestServer::start().await;
    let group = server
        .create_group("alice", "Club", &["bob", "carol"])
        .await;
    let alice = server.http_as("alice").await;
    let member = |user: &str| format!("/v1/conversations/{group}/members/{user}");
    let (status, _) = alice.put(&member("bob"), &json!({ "role": "admin" })).await;
    assert_eq!(status, 200);
    let bob = server.http_as("bob").await;
    let (status, answer) = bob
        .put(&member("alice"), &json!({ "role": "member" }))
        .await;
    assert_refused(status, &answer, 403, "demoting the owner");
    let (status, answer) = bob.delete(&member("alice")).await;
    assert_refused(status, &answer, 403, "removing the owner");
    let (status, answer) = alice.put(&member("bob"), &json!({ "role": "owner" })).await;
    assert_refused(status, &answer, 400, "making a second owner");
    let (status, answer) = alice.put(&member("bob"), &json!({ "role": "boss" })).await;
    assert_refused(status, &answer, 400, "an unknown role");
    let (status, answer) = alice.delete(&member("zed")).await;
    assert_refused(status, &answer, 404, "removing a non-member");
    let (status, answer) = alice.put(&member("zed"), &json!({ "role": "admin" })).await;
    assert_refused(status, &answer, 404, "promoting a non-member");
    // An admin removes a member; the member count follows.
    let (status, _) = bob.delete(&member("carol")).await;
    assert_eq!(status, 200);
    let (_, details) = alice.get(&format!("/v1/conversations/{group}")).await;
    assert_eq!(details["member_count"], 2, "{details}");
    // Bad bodies are bad requests, not faults.
    for body in [
        json!({}),
        json!({ "name": "" }),
        json!({ "settings": { "x": 1 } }),
    ] {
        let (status, answer) = alice
            .patch(&format!("/v1/conversations/{group}"), &body)
            .await;
        assert_refused(status, &answer, 400, &format!("PATCH {body}"));
    }
    let (status, answer) = alice
        .post("/v1/conversations", &json!({ "members": ["bob"] }))
        .await;
    assert_refused(status, &answer, 400, "a group without a name");
    let (status, answer) = alice
        .post(
            "/v1/conversations",
            &json!({ "name": "x", "members": ["not a:user"] }),
        )
        .await;
    assert_refused(status, &answer, 400, "a bad member id");
}

#[tokio::test]
async fn two_admins_changing_different_settings_at_once_both_stay() {
    let server = TestServer::start().await;
    let group = server
        .create_group("alice", "Board", &["bob", "carol"])
        .await;
    let alice = server.http_as("alice").await;
    let (status, _) = alice
        .put(
            &format!("/v1/conversations/{group}/members/carol"),
            &json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(status, 200);
    let carol = server.http_as("carol").await;
    let path = format!("/v1/conversations/{group}");
    // Each round both admins change their own setting at the same moment; a whole-settings
    // write from a stale read would undo the other's.
    for round in 0..10 {
        let on = round % 2 == 0;
        let send_rule = json!({ "settings": { "only_admins_send": on } });
        let edit_rule = json!({ "settings": { "only_admins_edit_info": on } });
        let (a, c) = tokio::join!(
            alice.patch(&path, &send_rule),
            carol.patch(&path, &edit_rule)
        );
        assert_eq!((a.0, c.0), (200, 200), "round {round}: {a:?} {c:?}");
        let (status, details) = alice.get(&path).await;
        assert_eq!(status, 200);
        let settings = &details["settings"];
        assert_eq!(
            (
                settings["only_admins_send"].as_bool(),
                settings["only_admins_edit_info"].as_bool()
            ),
            (Some(on), Some(on)),
            "round {round}: {details}"
        );
    }
}

#[tokio::test]
async fn the_owner_and_their_heir_leaving_at_once_leave_exactly_one_owner() {
    let server = TestServer::start().await;
    for round in 0..10 {
        let group = server
            .create_group("alice", "Handover", &["bob", "carol", "dave"])
            .await;
        let alice = server.http_as("alice").await;
        let path = format!("/v1/conversations/{group}");
        // bob, the only admin, is the heir.
        let (status, _) = alice
            .put(&format!("{path}/members/bob"), &json!({ "role": "admin" }))
            .await;
        assert_eq!(status, 200);
        let bob = server.http_as("bob").await;
        let (alice_leaves, bob_leaves) = (
            format!("{path}/members/alice"),
            format!("{path}/members/bob"),
        );
        let (a, b) = tokio::join!(alice.delete(&alice_leaves), bob.delete(&bob_leaves));
        assert_eq!((a.0, b.0), (200, 200), "round {round}: {a:?} {b:?}");
        let (status, details) = server.http_as("carol").await.get(&path).await;
        assert_eq!(status, 200, "{details}");
        let members = details["members"].as_array().expect("members");
        let owners: Vec<&Value> = members.iter().filter(|m| m["role"] == "owner").collect();
        let ids: Vec<&Value> = members.iter().map(|m| &m["user_id"]).collect();
        assert_eq!(ids, ["carol", "dave"], "round {round}: {details}");
        assert_eq!(owners.len(), 1, "round {round}: {details}");
    }
}
