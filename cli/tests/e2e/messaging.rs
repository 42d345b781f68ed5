//! `login`, `send`, `history` and `conversations`: a message sent with the CLI is stored at
//! the seq its ack names, reaches the other user live and in their history, and history
//! pages through more than one page.

use serde_json::json;

use crate::harness::Cli;

#[tokio::test]
async fn a_message_sent_to_a_user_arrives_with_the_seq_of_its_ack() {
    let cli = Cli::start().await;
    cli.login("alice").await;
    cli.login("bob").await;
    let mut bob_phone = cli.server.connect("bob", "phone").await;

    let first = cli
        .run("alice", &["--json", "send", "--to", "bob", "hello bob"])
        .await
        .ok()
        .json();
    assert_eq!(first["type"], "ack");
    assert_eq!(first["conversation_id"], "dm:alice:bob");
    assert_eq!(first["seq"], 1);
    let live = bob_phone.expect("message").await;
    assert_eq!(live["seq"], 1);
    assert_eq!(live["message_id"], first["message_id"]);
    assert_eq!(live["body"], "hello bob");

    let human = cli
        .run(
            "alice",
            &["send", "--conversation", "dm:alice:bob", "second"],
        )
        .await
        .ok();
    assert_eq!(human.stdout.trim(), "[dm:alice:bob #2] alice: second ✓");

    let history = cli
        .run(
            "bob",
            &["--json", "history", "--conversation", "dm:alice:bob"],
        )
        .await
        .ok()
        .json_lines();
    let got: Vec<(u64, &str, &str)> = history
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().expect("seq"),
                m["sender_id"].as_str().expect("sender"),
                m["body"].as_str().expect("body"),
            )
        })
        .collect();
    assert_eq!(got, vec![(1, "alice", "hello bob"), (2, "alice", "second")]);
    assert!(history.iter().all(|m| m["type"] == "message"));

    // The human history ticks alice's own messages by how far bob got: bob's phone has
    // not acked anything, so one tick each.
    let theirs = cli
        .run("alice", &["history", "--conversation", "dm:alice:bob"])
        .await
        .ok();
    assert_eq!(
        theirs.stdout,
        "[dm:alice:bob #1] alice: hello bob ✓\n[dm:alice:bob #2] alice: second ✓\n"
    );

    let list = cli
        .run("bob", &["--json", "conversations"])
        .await
        .ok()
        .json();
    assert_eq!(list["conversation_id"], "dm:alice:bob");
    assert_eq!(list["unread"], 2);
    let list = cli.run("bob", &["conversations"]).await.ok();
    assert_eq!(
        list.stdout.trim(),
        "dm:alice:bob  2 unread  #2 alice: second"
    );
}

#[tokio::test]
async fn history_pages_past_one_page_and_prints_oldest_first() {
    // 130 messages from one user as fast as acks come: past the default send burst.
    let cli = Cli::start_with(|config| config.send_burst = 0).await;
    cli.login("bob").await;
    let mut alice = cli.server.connect("alice", "phone").await;
    for n in 1..=130 {
        alice
            .send_json(
                &json!({ "action": "send", "to": "bob", "client_msg_id": format!("c{n}"),
                                "body": format!("n{n}") }),
            )
            .await;
        alice.expect("ack").await;
    }
    let seqs = |run: crate::harness::Run| -> Vec<u64> {
        run.ok()
            .json_lines()
            .iter()
            .map(|m| m["seq"].as_u64().expect("seq"))
            .collect()
    };
    let newest = cli
        .run(
            "bob",
            &[
                "--json",
                "history",
                "--conversation",
                "dm:alice:bob",
                "--limit",
                "110",
            ],
        )
        .await;
    assert_eq!(seqs(newest), (21..=130).collect::<Vec<_>>());
    let all = cli
        .run(
            "bob",
            &[
                "--json",
                "history",
                "--conversation",
                "dm:alice:bob",
                "--all",
            ],
        )
        .await;
    assert_eq!(seqs(all), (1..=130).collect::<Vec<_>>());
    let older = cli
        .run(
            "bob",
            &[
                "--json",
                "history",
                "--conversation",
                "dm:alice:bob",
                "--before",
                "5",
                "--limit",
                "3",
            ],
        )
        .await;
    assert_eq!(seqs(older), vec![2, 3, 4]);
}

#[tokio::test]
async fn a_profile_is_private_and_keeps_its_device_across_logins() {
    let cli = Cli::start().await;
    cli.login("alice").await;
    let path = cli.config_dir().join("profiles/alice.json");
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the profile")).expect("JSON")
    };
    let first = read();
    assert_eq!(first["user_id"], "alice");
    assert_eq!(first["ws_url"], format!("ws://{}/local", cli.server.addr()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token is for its owner only");
    }
    let url = cli.url();
    let again = cli
        .run(
            "alice",
            &["--json", "login", "--url", &url, "--user", "alice"],
        )
        .await
        .ok()
        .json();
    assert_eq!(again["device_id"], first["device_id"]);
    assert_eq!(read()["device_id"], first["device_id"]);
}

#[tokio::test]
async fn a_rate_limited_send_waits_the_pause_asked_for_and_is_stored_once() {
    // One message at once, then 2 a second: the second `chat send` is refused, then waits.
    let cli = Cli::start_with(|config| {
        config.send_burst = 1;
        config.send_rate = 2;
    })
    .await;
    cli.login("alice").await;
    for body in ["one", "two"] {
        let run = cli
            .run("alice", &["--json", "send", "--to", "bob", body])
            .await;
        let ack = run.ok().json();
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let history = cli
        .run(
            "alice",
            &["--json", "history", "--conversation", "dm:alice:bob"],
        )
        .await
        .ok()
        .json_lines();
    let bodies: Vec<&str> = history
        .iter()
        .map(|m| m["body"].as_str().expect("body"))
        .collect();
    assert_eq!(bodies, ["one", "two"], "each once, in order");
}
