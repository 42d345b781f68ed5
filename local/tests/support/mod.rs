//! What the tests of the real `chat-local` binary share: starting it over a data dir, killing
//! it with SIGKILL, its clients, reading a conversation back whole (over HTTP or `sync`), and
//! listening to several sockets at once until the moment of a kill.
//!
//! Each test binary uses part of this module, so the rest is dead code in that binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use chat_tests::{HttpClient, WsClient, dev_token};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The child process, SIGKILLed when dropped (also when an assertion fails first).
pub struct Running(Child);

impl Running {
    pub fn kill_9(&mut self) {
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

/// Starts the binary on a free port over `dir` and returns it with its `host:port`. The
/// per-user send limit is off: these bursts pipeline more than its default burst, and a
/// refusal is not what they test (`tests/tests/rate_limit.rs` is).
pub fn start(dir: &Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-local"))
        .args(["--listen", "127.0.0.1:0", "--send-burst", "0", "--data-dir"])
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

/// `user`'s phone, connected with a fresh dev token.
pub async fn connect(addr: &str, user: &str) -> WsClient {
    connect_device(addr, user, "phone").await
}

/// `user`'s `device`, connected with a fresh dev token.
pub async fn connect_device(addr: &str, user: &str, device: &str) -> WsClient {
    let token = dev_token(&format!("http://{addr}"), user).await;
    WsClient::connect(&format!("ws://{addr}/local?token={token}&device={device}"))
        .await
        .expect("connect")
}

/// An HTTP API client for `user`.
pub async fn http_as(addr: &str, user: &str) -> HttpClient {
    let token = dev_token(&format!("http://{addr}"), user).await;
    HttpClient::for_base(&format!("http://{addr}"), Some(token))
}

/// Creates a group named `name` as `owner` with `members`; answers its conversation id.
pub async fn create_group(addr: &str, owner: &str, name: &str, members: &[String]) -> String {
    let (status, group) = http_as(addr, owner)
        .await
        .post(
            "/v1/conversations",
            &json!({ "name": name, "members": members }),
        )
        .await;
    assert_eq!(status, 201, "creating {name}: {group}");
    group["conversation_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no conversation_id in {group}"))
        .to_string()
}

/// The whole history of `conversation` in seq order, paged over HTTP with `after`.
pub async fn history(http: &HttpClient, conversation: &str) -> Vec<Value> {
    let mut stored: Vec<Value> = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = http
            .get(&format!(
                "/v1/conversations/{conversation}/messages?after={after}&limit=100"
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        let messages = page["messages"].as_array().expect("messages").clone();
        let Some(last) = messages.last() else { break };
        after = last["seq"].as_i64().expect("seq");
        stored.extend(messages);
    }
    stored
}

/// The next event of `kind` on `socket`, keeping every `message` pushed before it in `pushed`
/// (fan-out still under way reaches a device that has just connected).
pub async fn next_past_pushes(socket: &mut WsClient, kind: &str, pushed: &mut Vec<Value>) -> Value {
    loop {
        let event = socket.next_event().await;
        if event["type"] == "message" && kind != "message" {
            pushed.push(event);
            continue;
        }
        assert_eq!(
            event["type"], kind,
            "expected a `{kind}` event, got {event}"
        );
        return event;
    }
}

/// Everything after `after_seq` in `conversation` as a device catches up: `sync` pages of
/// `messages` until `has_more` is false. Pushes meanwhile go to `pushed`.
pub async fn sync_after(
    socket: &mut WsClient,
    conversation: &str,
    after_seq: u64,
    pushed: &mut Vec<Value>,
) -> Vec<Value> {
    let mut got: Vec<Value> = Vec::new();
    let mut after = after_seq;
    loop {
        socket
            .send_json(&json!({ "action": "sync", "conversation_id": conversation,
                "after_seq": after, "limit": 100 }))
            .await;
        let page = next_past_pushes(socket, "messages", pushed).await;
        assert_eq!(page["conversation_id"], conversation, "{page}");
        let messages = page["messages"].as_array().expect("messages").clone();
        if let Some(last) = messages.last() {
            after = last["seq"].as_u64().expect("seq");
        }
        got.extend(messages);
        if page["has_more"] != true {
            return got;
        }
    }
}

/// The seq of a message or event.
pub fn seq_of(event: &Value) -> u64 {
    event["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq in {event}"))
}

/// Asserts that `stored` holds seqs 1..=len with none twice, and no `client_msg_id` twice.
pub fn assert_gap_free(stored: &[Value]) {
    let seqs: Vec<u64> = stored.iter().map(seq_of).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "seqs are not 1..=head"
    );
    let mut ids: Vec<&str> = stored
        .iter()
        .filter_map(|m| m["client_msg_id"].as_str())
        .collect();
    let with_id = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), with_id, "a client_msg_id was stored twice");
}

/// Several sockets driven at once: each socket's frames are written and its events read by a
/// task of its own, every event forwarded tagged with the socket's index. So a test can queue
/// a burst, watch every socket while the burst is still going out, and kill the server at the
/// moment it chooses (rather than after the whole burst was written).
pub struct Listening {
    events: mpsc::UnboundedReceiver<(usize, Value)>,
    outgoing: Vec<mpsc::UnboundedSender<Value>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Listening {
    /// Starts driving each of `sockets` (index = position).
    pub fn to(sockets: Vec<WsClient>) -> Listening {
        let (forward, events) = mpsc::unbounded_channel();
        let (outgoing, tasks) = sockets
            .into_iter()
            .enumerate()
            .map(|(index, socket)| {
                let (frames, queued) = mpsc::unbounded_channel();
                (
                    frames,
                    tokio::spawn(drive(index, socket, queued, forward.clone())),
                )
            })
            .unzip();
        Listening {
            events,
            outgoing,
            tasks,
        }
    }

    /// Queues `frame` for socket `index`; frames of one socket go out in the order queued.
    pub fn send(&self, index: usize, frame: Value) {
        self.outgoing[index]
            .send(frame)
            .expect("the socket's task is running");
    }

    /// The next event of any socket. (A socket quiet past the harness's wait ends its task, so
    /// a test waiting for more than can come fails within that wait.)
    pub async fn next(&mut self) -> (usize, Value) {
        match tokio::time::timeout(chat_tests::EVENT_WAIT, self.events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("every socket stopped"),
            Err(_) => panic!("no event on any socket within {:?}", chat_tests::EVENT_WAIT),
        }
    }

    /// Stops every socket's task (before the server is killed, so none sees its socket die),
    /// and answers what they had read and not yet handed over. (On the test's single-threaded
    /// runtime no task runs between this and the kill.)
    pub fn stop(self) -> mpsc::UnboundedReceiver<(usize, Value)> {
        for task in self.tasks {
            task.abort();
        }
        self.events
    }
}

/// One socket's task: writes what is queued for it, forwards what it receives.
async fn drive(
    index: usize,
    mut socket: WsClient,
    mut queued: mpsc::UnboundedReceiver<Value>,
    forward: mpsc::UnboundedSender<(usize, Value)>,
) {
    loop {
        tokio::select! {
            // Reading is cancel-safe: a frame half read stays in the socket's buffer.
            Some(frame) = queued.recv() => socket.send_json(&frame).await,
            event = socket.next_event() => {
                if forward.send((index, event)).is_err() {
                    return;
                }
            }
        }
    }
}
