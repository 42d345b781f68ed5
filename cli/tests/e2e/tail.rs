//! `tail`: live messages while it runs, and after a restart exactly what it missed (resumed
//! from the stored cursor: nothing twice, nothing lost), with delivered receipts for what it
//! printed.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{Cli, WAIT};

async fn send(cli: &Cli, text: &str) -> Value {
    cli.run("alice", &["--json", "send", "--to", "bob", text])
        .await
        .ok()
        .json()
}

#[tokio::test]
async fn a_restarted_tail_prints_exactly_what_it_missed() {
    let cli = Cli::start().await;
    cli.login("alice").await;
    cli.login("bob").await;
    assert_eq!(send(&cli, "before any tail").await["seq"], 1);

    // A first run starts at the present: seq 1 is not printed.
    let mut tail = cli.spawn("bob", &["--json", "tail"]);
    tail.wait_for_status("caught_up").await;
    assert_eq!(send(&cli, "live").await["seq"], 2);
    let live = tail.next_json().await;
    assert_eq!(live["type"], "message");
    assert_eq!(
        (live["seq"].as_u64(), live["body"].as_str()),
        (Some(2), Some("live"))
    );
    assert_eq!(tail.terminate().await, 0, "a stopped tail exits 0");

    assert_eq!(send(&cli, "missed").await["seq"], 3);

    let mut tail = cli.spawn("bob", &["--json", "tail"]);
    let missed = tail.next_json().await;
    assert_eq!(
        (missed["seq"].as_u64(), missed["body"].as_str()),
        (Some(3), Some("missed"))
    );
    tail.wait_for_status("caught_up").await;
    assert_eq!(send(&cli, "after").await["seq"], 4);
    // The very next line is seq 4: nothing from before was printed again.
    let after = tail.next_json().await;
    assert_eq!(
        (after["seq"].as_u64(), after["body"].as_str()),
        (Some(4), Some("after"))
    );

    // What tail printed, it reported delivered: alice's ticks reach seq 4.
    let alice = cli.server.http_as("alice").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, details) = alice.get("/v1/conversations/dm:alice:bob").await;
        assert_eq!(status, 200, "{details}");
        if details["delivered_all_seq"] == 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never delivered: {details}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(tail.terminate().await, 0);
    let cursor: Value = serde_json::from_str(
        &std::fs::read_to_string(cli.config_dir().join("cursors/bob.json")).expect("a cursor"),
    )
    .expect("JSON");
    assert_eq!(cursor["conversations"]["dm:alice:bob"], 4);
}

#[tokio::test]
async fn tail_shows_typing_and_recalls_and_follows_one_conversation() {
    let cli = Cli::start().await;
    cli.login("bob").await;
    let group = cli.server.create_group("alice", "Team", &["bob"]).await;
    let mut alice = cli.server.connect("alice", "phone").await;

    let mut tail = cli.spawn("bob", &["--json", "tail", "--conversation", &group]);
    // The group existed before this first run: its creation is history, not news.
    tail.wait_for_status("caught_up").await;
    // Another conversation's message is not this tail's business.
    alice
        .send_json(&serde_json::json!({"action": "send", "to": "bob", "client_msg_id": "d1", "body": "psst"}))
        .await;
    alice.expect("ack").await;
    alice
        .send_json(
            &serde_json::json!({"action": "typing", "conversation_id": group, "state": "start"}),
        )
        .await;
    let typing = tail.next_json().await;
    assert_eq!(typing["type"], "typing");
    assert_eq!(typing["user_id"], "alice");
    alice
        .send_json(&serde_json::json!({"action": "send", "conversation_id": group, "client_msg_id": "g1", "body": "hi all"}))
        .await;
    let seq = alice.expect("ack").await["seq"].clone();
    let message = tail.next_json().await;
    assert_eq!(message["type"], "message");
    assert_eq!(message["seq"], seq);
    alice
        .send_json(&serde_json::json!({"action": "recall", "conversation_id": group, "seq": seq}))
        .await;
    let recalled = tail.next_json().await;
    assert_eq!(recalled["type"], "recalled");
    assert_eq!(recalled["seq"], seq);
    assert_eq!(tail.terminate().await, 0);
}
