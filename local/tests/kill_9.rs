//! The durability promise on the real binary: every message `chat-local` acknowledged is there
//! after `kill -9` and a restart, exactly once, in a gap-free seq order.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use chat_tests::{HttpClient, WsClient, dev_token};
use serde_json::{Value, json};

/// Frames pipelined before the kill; the kill lands while some are still in flight.
const SENT: usize = 150;
/// Acks collected before the kill.
const ACKED_BEFORE_KILL: usize = 100;

/// The child process, SIGKILLed when dropped (also when an assertion fails first).
struct Running(Child);

impl Running {
    fn kill_9(&mut self) {
        // `Child::kill` is SIGKILL on Unix: no shutdown hook, no flush, no checkpoint.
        self.0.kill().expect("kill -9");
        self.0.wait().expect("reap");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on a free port over `dir` and returns it with its `host:port`.
fn start(dir: &Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-local"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chat-local");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("chat-local exited before printing its URLs")
            .expect("stdout line");
        if let Some(rest) = line.split("ws://").nth(1) {
            break rest.split('/').next().expect("host:port").to_string();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Running(child), addr)
}

async fn connect(addr: &str, user: &str) -> WsClient {
    let token = dev_token(&format!("http://{addr}"), user).await;
    WsClient::connect(&format!("ws://{addr}/local?token={token}&device=phone"))
        .await
        .expect("connect")
}

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
    let token = dev_token(&format!("http://{addr}"), "bob").await;
    let http = HttpClient::for_base(&format!("http://{addr}"), Some(token));
    let mut stored: Vec<Value> = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = http
            .get(&format!(
                "/v1/conversations/dm:alice:bob/messages?after={after}&limit=100"
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        let messages = page["messages"].as_array().expect("messages").clone();
        let Some(last) = messages.last() else { break };
        after = last["seq"].as_i64().expect("seq");
        stored.extend(messages);
    }

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
