//! The durability promise on the real binary: every message `chat-local` acknowledged is there
//! after `kill -9` and a restart, exactly once, in a gap-free seq order.

mod support;

use serde_json::{Value, json};

use support::{connect, history, http_as, start};

/// Frames pipelined before the kill; the kill lands while some are still in flight.
const SENT: usize = 150;
/// Acks collected before the kill.
const ACKED_BEFORE_KILL: usize = 100;

#[tokio::test]
async fn kill_9_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().expect("data dir");
    let (mut child, addr) = start(dir.path());

    let mut alice = connect(&addr, "alice").await;
    for n in 0..SENT {
        alice
            .send_json(&json!({ "action": "send", "to": "bob",
                "client_msg_id": format!("k-{n}"), "body": format!("durable {n}") }))
            .await;
    }
    let mut acked: Vec<Value> = Vec::new();
    while acked.len() < ACKED_BEFORE_KILL {
        acked.push(alice.expect("ack").await);
    }
    child.kill_9();

    let (_child, addr) = start(dir.path());
    let stored = history(&http_as(&addr, "bob").await, "dm:alice:bob").await;

    // Gap-free and none twice.
    let seqs: Vec<i64> = stored
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let mut ids: Vec<&str> = stored
        .iter()
        .map(|m| m["client_msg_id"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), stored.len(), "a message was stored twice");
    // Every ack is there, with the seq and message id it promised.
    assert!(stored.len() >= ACKED_BEFORE_KILL && stored.len() <= SENT);
    for ack in &acked {
        let seq = ack["seq"].as_i64().expect("seq");
        let message = &stored[usize::try_from(seq - 1).expect("seq ≥ 1")];
        assert_eq!(message["message_id"], ack["message_id"]);
        assert_eq!(message["client_msg_id"], ack["client_msg_id"]);
    }

    // Retrying an acknowledged send after the restart answers the same ack.
    let mut alice = connect(&addr, "alice").await;
    let first = &acked[0];
    alice
        .send_json(&json!({ "action": "send", "to": "bob",
            "client_msg_id": first["client_msg_id"], "body": "retry" }))
        .await;
    let again = alice.expect("ack").await;
    assert_eq!(&again, first);
}
